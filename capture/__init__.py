"""Planning, instrumentation and the runtime recorder (astrepo.capture)."""

HANDLERS = {}
HOOKS = []


def on_open():
    return "open"


def on_close():
    return "close"


def log_hook():
    return "log"


def audit_hook():
    return "audit"


def metrics_hook():
    return "metrics"


def register(event, handler):
    HANDLERS[event] = handler


def emit(event):
    return HANDLERS[event]()


def run_hooks():
    return [hook() for hook in HOOKS]


register("open", on_open)
HANDLERS.update({"close": on_close})
HOOKS.append(log_hook)
HOOKS.extend([audit_hook])
HOOKS.insert(0, metrics_hook)
emit("open")
emit("close")
run_hooks()

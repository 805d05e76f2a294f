class Clock:
    def now(self):
        return 0


DEFAULT_CLOCK = Clock()


def stamp(clock=DEFAULT_CLOCK):
    return clock.now()


def stamp_or(clock=None):
    clock = clock or DEFAULT_CLOCK
    return clock.now()


stamp()
stamp_or()

class Pipeline:
    def clean(self, text):
        return text.strip()

    def stage(self, step, payload):
        return step(payload)

    def run(self, step, payload):
        return self.stage(step, payload)


def shout(text):
    return text.upper()


def relay(fn, value):
    return forward(fn, value)


def forward(fn, value):
    return apply_last(fn, value)


def apply_last(fn, value):
    return fn(value)


pipe = Pipeline()
pipe.run(pipe.clean, " hi ")
relay(shout, "hey")

class Config:
    @classmethod
    def default(cls):
        return cls.build({})

    @classmethod
    def build(cls, data):
        return cls()

    def __init__(self):
        pass


Config.default()

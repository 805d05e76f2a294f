# Calling what a property returns runs the getter first, then the returned function.
def notify():
    pass


class Settings:
    @property
    def callback(self):
        return notify


Settings().callback()

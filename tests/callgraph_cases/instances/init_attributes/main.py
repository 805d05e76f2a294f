class Engine:
    def start(self):
        return True


class Wheel:
    def spin(self):
        return 1


class Car:
    def __init__(self, engine):
        self.engine = engine
        self.wheels = [Wheel(), Wheel()]
        self.spare = Wheel()

    def drive(self):
        self.engine.start()
        self.spare.spin()
        for w in self.wheels:
            w.spin()


Car(Engine()).drive()

class Logger:
    def log(self, msg):
        return msg


class Service:
    logger = Logger()
    factory = Logger

    def run(self):
        self.logger.log("run")
        Service.logger.log("class")
        self.factory().log("new")


Service().run()

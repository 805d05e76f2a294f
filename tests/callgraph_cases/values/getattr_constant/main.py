# getattr(obj, "literal") is the attribute obj.literal.
class Shell:
    def do_quit(self):
        pass


shell = Shell()
getattr(shell, "do_quit")()

# A class that extends a builtin (as dateutil's _ymd extends list): its own property read on self.
class Parts(list):
    @property
    def has_head(self):
        return len(self) > 0

    def head_or_none(self):
        if self.has_head:
            return self[0]
        return None


Parts([1]).head_or_none()

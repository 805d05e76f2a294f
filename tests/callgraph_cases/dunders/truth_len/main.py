# A truth test asks __len__ when the class has no __bool__; while and not test too.
class Queue:
    def __init__(self):
        self.items = [1, 2]

    def __len__(self):
        return len(self.items)

    def pop(self):
        return self.items.pop()


def drain(queue):
    while queue:
        queue.pop()
    return not queue


drain(Queue())

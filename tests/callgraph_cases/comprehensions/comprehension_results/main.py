# What a comprehension builds holds what its body gives.
def make_task(n):
    def task():
        return n
    return task


def audit():
    pass


tasks = [make_task(n) for n in range(2)]
tasks[0]()
checks = {name: audit for name in ("a", "b")}
checks["a"]()
for run in (make_task(n) for n in range(1)):
    run()

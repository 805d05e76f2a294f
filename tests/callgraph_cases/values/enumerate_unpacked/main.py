# Functions travel through enumerate() and a tuple target of a for loop.
def first_step():
    pass


for index, step in enumerate([first_step]):
    step()

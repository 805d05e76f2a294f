def load():
    from codec import decode
    import codec as c
    return decode(c.encode("a"))


load()

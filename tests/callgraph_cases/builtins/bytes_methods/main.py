def to_text(value):
    try:
        return value.decode("utf-8")
    except AttributeError:
        return value


def label(raw):
    return b"<" + raw + b">"


to_text(b"caf\xc3\xa9")
to_text("plain")
label(b"x").hex()

def parse(text):
    return _tokens(text)


def _tokens(text):
    return text

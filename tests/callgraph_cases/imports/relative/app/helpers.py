def trim(text):
    return text

def fmt(words, table):
    text = ", ".join(words)
    keys = {"a": 1}.keys()
    parts = text.split(",")
    parts.append("end")
    return text.upper(), keys, parts


fmt(["a"], {})

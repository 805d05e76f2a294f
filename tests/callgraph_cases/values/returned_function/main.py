def handler_for(kind):
    if kind == "json":
        return to_json
    return to_text


def to_json(data):
    return "{}"


def to_text(data):
    return ""


handler_for("json")(1)
h = handler_for("text")
h(2)

"""A small workload over Django modules that import without settings or dependencies."""
from django.utils.datastructures import MultiValueDict, MultiValueDictKeyError, OrderedSet, CaseInsensitiveMapping
from django.utils.encoding import force_str, iri_to_uri, uri_to_iri, escape_uri_path
from django.utils.http import urlencode, quote_etag, parse_etags, base36_to_int, int_to_base36
from django.utils.regex_helper import normalize
from django.utils.lorem_ipsum import paragraphs, words
from django.utils.termcolors import colorize
from django.utils.hashable import make_hashable

d = MultiValueDict({"a": ["1", "2"], "b": ["3"]})
for key in ["a", "b", "c"] * 50:
    d.get(key)
    try:
        d[key]
    except MultiValueDictKeyError:
        pass
headers = CaseInsensitiveMapping({"Content-Type": "text/html"})
for i in range(300):
    force_str(i)
    iri_to_uri(f"/a b/{i}")
    uri_to_iri(f"/a%20b/{i}")
    escape_uri_path(f"/x y/{i}")
    urlencode({"q": str(i), "p": [1, 2]}, doseq=True)
    quote_etag(str(i))
    int_to_base36(i)
    headers["content-type"]
    make_hashable({"a": [i, {"b": i}]})
for bad in ["zz!", "", "1" * 20]:
    try:
        base36_to_int(bad)
    except ValueError:
        pass
print(parse_etags('"a", "b"'), normalize(r"^(?P<year>[0-9]{4})/$"), len(paragraphs(3)), words(5))
print(colorize("x", fg="red"), list(OrderedSet([3, 1, 3])))

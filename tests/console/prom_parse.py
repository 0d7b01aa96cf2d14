#!/usr/bin/python3
"""prom_parse.py - a strict parser of the Prometheus text exposition format 0.0.4.

    prom_parse.py FILE      parse FILE; print one "name{labels} value" per sample
                            (labels sorted and escaped as in the format) and exit 0,
                            or print the first problem and exit 1

Checks what a scraper relies on: metric and label names match the format's
grammar; label values are quoted with only \\\\, \\" and \\n escapes; values are
floats (NaN and +/-Inf included) with an optional integer timestamp; every family
has at most one HELP and one TYPE, its TYPE comes before its samples and is a known
type, a family's samples are not interleaved with another family's, no series
appears twice, and counters are named ..._total. Python 3 standard library only.
"""

import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


class ParseError(Exception):
    pass


def parse_value(s):
    if s in ("NaN", "+Inf", "-Inf", "Inf"):
        return float(s.replace("Inf", "inf"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", s):
        raise ParseError("bad value %r" % s)
    return float(s)


def parse_labels(s, pos):
    """Labels from s[pos] == '{'; returns (dict, position after '}')."""
    labels = {}
    pos += 1
    while True:
        if s[pos] == "}":
            return labels, pos + 1
        m = LABEL.match(s, pos)
        if not m:
            raise ParseError("bad label name at %r" % s[pos:])
        name = m.group(0)
        pos = m.end()
        if s[pos : pos + 2] != '="':
            raise ParseError("expected =\" after label %s" % name)
        pos += 2
        value = []
        while s[pos] != '"':
            if s[pos] == "\\":
                esc = s[pos + 1]
                if esc not in '\\"n':
                    raise ParseError("bad escape \\%s" % esc)
                value.append("\n" if esc == "n" else esc)
                pos += 2
            else:
                if s[pos] == "\n":
                    raise ParseError("newline in a label value")
                value.append(s[pos])
                pos += 1
        pos += 1
        if name in labels:
            raise ParseError("label %s twice" % name)
        labels[name] = "".join(value)
        if s[pos] == ",":
            pos += 1
        elif s[pos] != "}":
            raise ParseError("expected , or } after label %s" % name)


def family_of(name, types):
    for suffix in SUFFIXES:
        base = name[: -len(suffix)] if name.endswith(suffix) else None
        if base and types.get(base) in ("histogram", "summary"):
            return base
    return name


def parse(text):
    """{(name, ((label, value), ...)): value} for every sample in text."""
    if text and not text.endswith("\n"):
        raise ParseError("the last line has no newline")
    samples, types, helps, done, current = {}, {}, set(), set(), None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        try:
            if line.startswith("#"):
                parts = line.split(" ", 3)
                if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                    name = parts[2]
                    if not NAME.fullmatch(name):
                        raise ParseError("bad metric name %r" % name)
                    if parts[1] == "HELP":
                        if name in helps:
                            raise ParseError("second HELP for %s" % name)
                        helps.add(name)
                    else:
                        if name in types:
                            raise ParseError("second TYPE for %s" % name)
                        if len(parts) != 4 or parts[3] not in TYPES:
                            raise ParseError("bad TYPE line")
                        if name in done or current == name:
                            raise ParseError("TYPE of %s after its samples" % name)
                        types[name] = parts[3]
                continue
            if not line.strip():
                continue
            m = NAME.match(line)
            if not m:
                raise ParseError("bad metric name")
            name, pos = m.group(0), m.end()
            labels = {}
            if pos < len(line) and line[pos] == "{":
                labels, pos = parse_labels(line + "\n", pos)
            rest = line[pos:].split()
            if line[pos : pos + 1] != " " or len(rest) not in (1, 2):
                raise ParseError("expected a value (and a timestamp) after the name")
            value = parse_value(rest[0])
            if len(rest) == 2 and not re.fullmatch(r"-?\d+", rest[1]):
                raise ParseError("bad timestamp")
            fam = family_of(name, types)
            if fam != current:
                if fam in done:
                    raise ParseError("samples of %s are not together" % fam)
                if current:
                    done.add(current)
                current = fam
            if types.get(fam) == "counter" and not name.endswith("_total"):
                raise ParseError("counter %s is not named _total" % name)
            key = (name, tuple(sorted(labels.items())))
            if key in samples:
                raise ParseError("series %s%s twice" % key)
            samples[key] = value
        except (ParseError, IndexError) as e:
            raise ParseError("line %d: %s: %s" % (n, e if str(e) else "truncated", line))
    return samples, types


def escape(v):
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def main():
    try:
        with open(sys.argv[1], encoding="utf-8") as fp:
            samples, _ = parse(fp.read())
    except ParseError as e:
        print(e)
        sys.exit(1)
    for (name, labels), value in sorted(samples.items()):
        text = ",".join('%s="%s"' % (k, escape(v)) for k, v in labels)
        print("%s{%s} %r" % (name, text, value))


if __name__ == "__main__":
    main()

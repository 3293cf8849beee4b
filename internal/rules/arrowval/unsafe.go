package arrowval

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
)

// TimestampsAsInt64 views []arrow.Timestamp (an int64 type) as []int64,
// without copying.
func TimestampsAsInt64(v []arrow.Timestamp) []int64 {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*int64)(unsafe.Pointer(&v[0])), len(v))
}

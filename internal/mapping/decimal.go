package mapping

import (
	"math/big"

	"github.com/jackc/pgx/v5/pgtype"
)

// fixedDecimal turns int64 fixed-point (1e-9 units) into an exact numeric.
func fixedDecimal(v int64) pgtype.Numeric {
	return pgtype.Numeric{Int: big.NewInt(v), Exp: -9, Valid: true}
}

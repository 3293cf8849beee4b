package query

import (
	"fmt"
	"strconv"
	"strings"
)

// Rewrite turns sqlc's named parameters into PostgreSQL positional ones:
// @name, sqlc.arg(name) and sqlc.narg(name) (also with a quoted 'name')
// become $1, $2, ... in order of first appearance, one number per name. It
// leaves alone string literals ('...', E'...', $tag$...$tag$), quoted
// identifiers, comments, casts (::type) and operators containing @ (@>, <@,
// @@, @-@, a prefix @ followed by a space). It returns the rewritten SQL, the
// names by position and which of them are sqlc.narg (optional).
func Rewrite(sql string) (string, []string, map[string]bool, error) {
	return rewrite(sql, nil)
}

// rewrite is Rewrite that casts the parameters of casts ($n::type).
func rewrite(sql string, casts map[string]string) (string, []string, map[string]bool, error) {
	var (
		b        strings.Builder
		names    []string
		index    = map[string]int{}
		optional = map[string]bool{}
	)
	num := func(name string) int {
		if n, ok := index[name]; ok {
			return n
		}
		names = append(names, name)
		index[name] = len(names)
		return len(names)
	}
	n := len(sql)
	for i := 0; i < n; {
		c := sql[i]
		switch {
		case c == '-' && i+1 < n && sql[i+1] == '-':
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				j = n - i
			}
			b.WriteString(sql[i : i+j])
			i += j
		case c == '/' && i+1 < n && sql[i+1] == '*':
			depth, j := 1, i+2
			for j < n && depth > 0 {
				switch {
				case strings.HasPrefix(sql[j:], "/*"):
					depth++
					j += 2
				case strings.HasPrefix(sql[j:], "*/"):
					depth--
					j += 2
				default:
					j++
				}
			}
			if depth > 0 {
				return "", nil, nil, fmt.Errorf("unterminated /* comment")
			}
			b.WriteString(sql[i:j])
			i = j
		case c == '\'' || ((c == 'E' || c == 'e') && i+1 < n && sql[i+1] == '\'' && !identByte(prev(sql, i))):
			start := i
			escapes := c != '\''
			if escapes {
				i++
			}
			j := i + 1
			for {
				if j >= n {
					return "", nil, nil, fmt.Errorf("unterminated string literal")
				}
				if escapes && sql[j] == '\\' {
					j += 2
					continue
				}
				if sql[j] == '\'' {
					if j+1 < n && sql[j+1] == '\'' {
						j += 2
						continue
					}
					j++
					break
				}
				j++
			}
			b.WriteString(sql[start:j])
			i = j
		case c == '"':
			j := i + 1
			for {
				if j >= n {
					return "", nil, nil, fmt.Errorf("unterminated quoted identifier")
				}
				if sql[j] == '"' {
					if j+1 < n && sql[j+1] == '"' {
						j += 2
						continue
					}
					j++
					break
				}
				j++
			}
			b.WriteString(sql[i:j])
			i = j
		case c == '$' && !identByte(prev(sql, i)):
			// Dollar quoting: $$ or $tag$; a $1 stays as it is.
			j := i + 1
			for j < n && sql[j] != '$' && identByte(sql[j]) && !(j == i+1 && sql[j] >= '0' && sql[j] <= '9') {
				j++
			}
			if j < n && sql[j] == '$' {
				tag := sql[i : j+1]
				end := strings.Index(sql[j+1:], tag)
				if end < 0 {
					return "", nil, nil, fmt.Errorf("unterminated dollar-quoted string %s", tag)
				}
				stop := j + 1 + end + len(tag)
				b.WriteString(sql[i:stop])
				i = stop
				continue
			}
			b.WriteByte(c)
			i++
		case c == ':' && i+1 < n && sql[i+1] == ':':
			// A cast: copy the type name too.
			j := i + 2
			for j < n && (sql[j] == ' ') {
				j++
			}
			for j < n && (identByte(sql[j]) || sql[j] == '.' || sql[j] == '[' || sql[j] == ']') {
				j++
			}
			b.WriteString(sql[i:j])
			i = j
		case c == '@' && i+1 < n && identStart(sql[i+1]) && !opByte(prev(sql, i)):
			j := i + 1
			for j < n && identByte(sql[j]) {
				j++
			}
			b.WriteString(placeholder(num(sql[i+1:j]), casts[sql[i+1:j]]))
			i = j
		case (c == 's' || c == 'S') && !identByte(prev(sql, i)) && hasPrefixFold(sql[i:], "sqlc."):
			j := i + 5
			k := j
			for k < n && identByte(sql[k]) {
				k++
			}
			fn := strings.ToLower(sql[j:k])
			if (fn != "arg" && fn != "narg") || k >= n || sql[k] != '(' {
				if fn == "slice" || fn == "embed" {
					return "", nil, nil, fmt.Errorf("sqlc.%s is not supported by hdi query", fn)
				}
				b.WriteByte(c)
				i++
				continue
			}
			end := strings.IndexByte(sql[k:], ')')
			if end < 0 {
				return "", nil, nil, fmt.Errorf("unterminated sqlc.%s(", fn)
			}
			name := strings.Trim(strings.TrimSpace(sql[k+1:k+end]), `'"`)
			if name == "" || !identStart(name[0]) {
				return "", nil, nil, fmt.Errorf("sqlc.%s(%s): not a parameter name", fn, name)
			}
			if fn == "narg" {
				optional[name] = true
			}
			b.WriteString(placeholder(num(name), casts[name]))
			i = k + end + 1
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), names, optional, nil
}

func placeholder(n int, cast string) string {
	if cast == "" {
		return "$" + strconv.Itoa(n)
	}
	return "($" + strconv.Itoa(n) + "::" + cast + ")"
}

func prev(s string, i int) byte {
	if i == 0 {
		return ' '
	}
	return s[i-1]
}

func identStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func identByte(c byte) bool { return identStart(c) || (c >= '0' && c <= '9') || c == '$' }

// opByte reports characters that, right before an @, make it part of an
// operator (<@, @@, &@, ...) rather than a parameter.
func opByte(c byte) bool { return strings.IndexByte("<@#&|~!?^%*/+-", c) >= 0 || identByte(c) }

func hasPrefixFold(s, p string) bool { return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) }

package storage

import (
	"bytes"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// blockSize is how many users one search block holds at most. A change to a name
// rewrites one block, so the cost of a write stays bounded by it (R-STO-3).
const blockSize = 1024

// searchIndex keeps every user in ascending ID order, in blocks. Each block holds the
// search keys of its users back to back in one byte slice, each key being
// '\n' + lower(username) + '\x00' + lower(name). A search runs bytes.Index over whole
// blocks instead of calling strings.Contains a million times (R-SRCH-1), and a search
// for '\n' + q finds exactly the usernames that start with q.
type searchIndex struct {
	firsts []int64 // firsts[i] is the ID of the first user in blocks[i]
	blocks []*block
}

type block struct {
	ids  []int64  // ascending; contiguous, so that finding a user touches little memory
	ents []*entry // ents[i] is the user ids[i]
	offs []int32  // offs[i] is where the key of ents[i] starts in data (its '\n')
	data []byte
}

// appendSearchKey appends the key of a user, without its leading '\n', to dst.
func appendSearchKey(dst []byte, username, name string) []byte {
	dst = appendLower(dst, username)
	dst = append(dst, 0)
	return appendLower(dst, name)
}

// appendLower appends strings.ToLower(s) to dst, without allocating for ASCII.
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			// strings.ToLower maps rune by rune, so the rest can be mapped on its own.
			return append(dst, strings.ToLower(s[i:])...)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func (b *block) keyEnd(i int) int {
	if i+1 < len(b.offs) {
		return int(b.offs[i+1])
	}
	return len(b.data)
}

// add appends e, whose ID is above every other in the index.
func (x *searchIndex) add(e *entry) {
	x.addKey(e, nil)
}

// addKey is add with the search key already made, or made here if nil.
func (x *searchIndex) addKey(e *entry, key []byte) {
	var b *block
	if n := len(x.blocks); n > 0 && len(x.blocks[n-1].ents) < blockSize {
		b = x.blocks[n-1]
	} else {
		b = &block{
			ids:  make([]int64, 0, blockSize),
			ents: make([]*entry, 0, blockSize),
			offs: make([]int32, 0, blockSize),
			data: make([]byte, 0, 32*blockSize),
		}
		x.blocks = append(x.blocks, b)
		x.firsts = append(x.firsts, e.user.ID)
	}
	b.ids = append(b.ids, e.user.ID)
	b.ents = append(b.ents, e)
	b.offs = append(b.offs, int32(len(b.data)))
	b.data = append(b.data, '\n')
	if key == nil {
		b.data = appendSearchKey(b.data, e.user.Username, e.user.Name)
	} else {
		b.data = append(b.data, key...)
	}
}

// find returns the block and position of the user with the ID.
func (x *searchIndex) find(id int64) (bi int, b *block, i int, ok bool) {
	bi, found := slices.BinarySearch(x.firsts, id)
	if !found {
		bi--
	}
	if bi < 0 {
		return 0, nil, 0, false
	}
	b = x.blocks[bi]
	i, ok = slices.BinarySearch(b.ids, id)
	return bi, b, i, ok
}

// replace puts ne in place of old (same ID), rewriting the block's key if the name changed.
func (x *searchIndex) replace(old, ne *entry) {
	_, b, i, ok := x.find(ne.user.ID)
	if !ok {
		return
	}
	b.ents[i] = ne
	if old.user.Name == ne.user.Name && old.user.Username == ne.user.Username {
		return
	}
	start, end := int(b.offs[i]), b.keyEnd(i)
	data := make([]byte, 0, len(b.data)+64)
	data = append(data, b.data[:start]...)
	data = append(data, '\n')
	data = appendSearchKey(data, ne.user.Username, ne.user.Name)
	delta := int32(len(data) - end)
	data = append(data, b.data[end:]...)
	for j := i + 1; j < len(b.offs); j++ {
		b.offs[j] += delta
	}
	b.data = data
}

// remove takes the entry out of the index.
func (x *searchIndex) remove(e *entry) {
	bi, b, i, ok := x.find(e.user.ID)
	if !ok {
		return
	}
	if len(b.ents) == 1 {
		x.blocks = slices.Delete(x.blocks, bi, bi+1)
		x.firsts = slices.Delete(x.firsts, bi, bi+1)
		return
	}
	start, end := int(b.offs[i]), b.keyEnd(i)
	b.data = append(b.data[:start], b.data[end:]...)
	delta := int32(end - start)
	b.offs = slices.Delete(b.offs, i, i+1)
	for j := i; j < len(b.offs); j++ {
		b.offs[j] -= delta
	}
	b.ents = slices.Delete(b.ents, i, i+1)
	b.ids = slices.Delete(b.ids, i, i+1)
	x.firsts[bi] = b.ids[0]
}

// search returns up to limit entries matching q, in the order of R-SRCH-1: the user
// whose username is q, then usernames starting with q, then the other matches, each
// group by ascending ID. q is lower case.
func (s *state) search(q string, limit int) []*entry {
	if limit <= 0 {
		return nil
	}
	var out []*entry
	exactID := int64(0)
	if id, ok := s.byUsername[q]; ok {
		exactID = id
		out = append(out, s.byID[id])
	}
	need := limit - len(out)
	if need == 0 {
		return out
	}
	var prefix, other []*entry
	pat := []byte(q)
	prefixPat := append([]byte{'\n'}, q...)
	for _, b := range s.index.blocks {
		// Once other holds enough, only a username prefix can still change the answer.
		onlyPrefix := len(other) >= need
		for pos := 0; pos < len(b.data); {
			p := pos
			if onlyPrefix {
				k := bytes.Index(b.data[pos:], prefixPat)
				if k < 0 {
					break
				}
				p += k + 1 // where q starts
			} else {
				k := bytes.Index(b.data[pos:], pat)
				if k < 0 {
					break
				}
				p += k
			}
			i := sort.Search(len(b.offs), func(i int) bool { return int(b.offs[i]) > p }) - 1
			start, end := int(b.offs[i])+1, b.keyEnd(i)
			sep := start + bytes.IndexByte(b.data[start:end], 0)
			qe := p + len(q)
			inUsername := p >= start && qe <= sep
			inName := p > sep && qe <= end
			if !inUsername && !inName {
				pos = p + 1 // the match spans two fields or keys; look further
				continue
			}
			pos = end // one match per user is enough
			if b.ids[i] == exactID {
				continue
			}
			e := b.ents[i]
			if inUsername && p == start {
				prefix = append(prefix, e)
				if len(prefix) == need {
					return append(out, prefix...)
				}
			} else if len(other) < need {
				other = append(other, e)
				if len(other) == need {
					onlyPrefix = true
				}
			}
		}
	}
	out = append(out, prefix...)
	return append(out, other[:min(len(other), need-len(prefix))]...)
}

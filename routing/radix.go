package routing

import "bytes"

// radixNode is a node of a compressed trie over path bytes holding the
// exact-path and path-prefix routes of one host. Lookup walks it once along
// the request path, so its cost depends on the path's length, not on the
// number of routes.
type radixNode struct {
	label    []byte // edge label from the parent
	depth    int    // length of the full path spelled from the root to here
	indices  []byte // first byte of each child's label, parallel to children
	children []*radixNode

	exact  []*Route // Path == this node's full path, in candidate order
	prefix []*Route // PathPrefix == this node's full path, in candidate order

	// prefixUp is the nearest proper ancestor with prefix routes; following
	// it from the deepest prefix node visits every shorter prefix of the
	// request path, longest first, without a stack.
	prefixUp *radixNode
}

func (n *radixNode) insert(path string, r *Route, isPrefix bool) {
	key := []byte(path)
	for {
		// Here key is what remains after n's label.
		if len(key) == 0 {
			if isPrefix {
				n.prefix = append(n.prefix, r)
			} else {
				n.exact = append(n.exact, r)
			}
			return
		}
		idx := bytes.IndexByte(n.indices, key[0])
		if idx < 0 {
			child := &radixNode{label: key, depth: n.depth + len(key)}
			n.indices = append(n.indices, key[0])
			n.children = append(n.children, child)
			n = child
			key = nil
			continue
		}
		child := n.children[idx]
		common := 0
		for common < len(child.label) && common < len(key) && child.label[common] == key[common] {
			common++
		}
		if common < len(child.label) {
			// Split the edge: a new node takes the common part and the old
			// child hangs below it with the rest of its label.
			mid := &radixNode{
				label:    child.label[:common:common],
				depth:    n.depth + common,
				indices:  []byte{child.label[common]},
				children: []*radixNode{child},
			}
			child.label = child.label[common:]
			n.children[idx] = mid
			child = mid
		}
		n = child
		key = key[common:]
	}
}

// link sets prefixUp for n and its subtree; up is the nearest ancestor of n
// with prefix routes.
func (n *radixNode) link(up *radixNode) {
	n.prefixUp = up
	if len(n.prefix) > 0 {
		up = n
	}
	for _, c := range n.children {
		c.link(up)
	}
}

// walk follows path down the trie. It returns the node whose full path equals
// path (nil if none) and the deepest node with prefix routes whose full path
// is a byte prefix of path (nil if none).
func (n *radixNode) walk(path []byte) (exact, deepestPrefix *radixNode) {
	pos := len(n.label)
	if !bytes.HasPrefix(path, n.label) {
		return nil, nil
	}
	for {
		if len(n.prefix) > 0 {
			deepestPrefix = n
		}
		if pos == len(path) {
			return n, deepestPrefix
		}
		idx := bytes.IndexByte(n.indices, path[pos])
		if idx < 0 {
			return nil, deepestPrefix
		}
		child := n.children[idx]
		if !bytes.HasPrefix(path[pos:], child.label) {
			return nil, deepestPrefix
		}
		n = child
		pos += len(child.label)
	}
}

// prefixMatches reports whether a prefix of length plen matches path on a
// segment boundary: "/api" matches "/api" and "/api/x" but not "/apis", and
// "/api/" matches everything below "/api/".
func prefixMatches(path []byte, plen int) bool {
	return plen == len(path) || path[plen-1] == '/' || path[plen] == '/'
}

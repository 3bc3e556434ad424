package routing

import "bytes"

// radixNode is a node of a compressed trie over path bytes holding the
// exact-path and path-prefix routes of one host while Build inserts them;
// freeze turns it into the radixTree that Lookup walks.
type radixNode struct {
	label    []byte // edge label from the parent
	depth    int    // length of the full path spelled from the root to here
	indices  []byte // first byte of each child's label, parallel to children
	children []*radixNode

	exact  []*Route // Path == this node's full path, in candidate order
	prefix []*Route // PathPrefix == this node's full path, in candidate order
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

// radixTree is the lookup form of the trie: nodes in breadth-first order in
// one slice, so a node's children are adjacent, their first label bytes are
// adjacent in firsts, labels share one string and route lists one slice.
// Walking it touches a few contiguous cache lines per level instead of
// chasing a pointer per field, which keeps large tables nearly as fast as
// small ones.
type radixTree struct {
	nodes  []radixSlot
	firsts []byte // firsts[i] is the first byte of nodes[i]'s label
	labels string
	routes []*Route
}

type radixSlot struct {
	labelOff, labelLen   int32
	childOff, childLen   int32 // children are nodes[childOff : childOff+childLen]
	depth                int32 // length of the full path spelled from the root here
	exactOff, exactLen   int32 // routes with Path == the full path, in candidate order
	prefixOff, prefixLen int32 // routes with PathPrefix == the full path, likewise
	// prefixUp is the nearest proper ancestor with prefix routes, or -1;
	// following it from the deepest prefix node visits every shorter prefix
	// of the request path, longest first, without a stack.
	prefixUp int32
}

// freeze lays the trie rooted at root out as a radixTree. Route lists must
// already be in candidate order.
func freeze(root *radixNode) radixTree {
	var t radixTree
	var labels []byte
	queue := []*radixNode{root}
	t.nodes = append(t.nodes, radixSlot{prefixUp: -1})
	t.firsts = append(t.firsts, 0)
	for i := 0; i < len(queue); i++ {
		n := queue[i]
		// slot is only written before the children are appended below,
		// which may move t.nodes.
		slot := &t.nodes[i]
		slot.labelOff, slot.labelLen = int32(len(labels)), int32(len(n.label))
		labels = append(labels, n.label...)
		slot.depth = int32(n.depth)
		slot.exactOff, slot.exactLen = int32(len(t.routes)), int32(len(n.exact))
		t.routes = append(t.routes, n.exact...)
		slot.prefixOff, slot.prefixLen = int32(len(t.routes)), int32(len(n.prefix))
		t.routes = append(t.routes, n.prefix...)
		up := slot.prefixUp
		if len(n.prefix) > 0 {
			up = int32(i)
		}
		slot.childOff, slot.childLen = int32(len(queue)), int32(len(n.children))
		for _, c := range n.children {
			queue = append(queue, c)
			t.nodes = append(t.nodes, radixSlot{prefixUp: up})
			t.firsts = append(t.firsts, c.label[0])
		}
	}
	t.labels = string(labels)
	return t
}

// walk follows path down the trie. It returns the index of the node whose
// full path equals path and of the deepest node with prefix routes whose
// full path is a byte prefix of path; -1 for none.
func (t *radixTree) walk(path []byte) (exact, deepestPrefix int32) {
	deepestPrefix = -1
	var i int32
	pos := 0
	for {
		n := &t.nodes[i]
		if n.prefixLen > 0 {
			deepestPrefix = i
		}
		if pos == len(path) {
			return i, deepestPrefix
		}
		k := bytes.IndexByte(t.firsts[n.childOff:n.childOff+n.childLen], path[pos])
		if k < 0 {
			return -1, deepestPrefix
		}
		i = n.childOff + int32(k)
		c := &t.nodes[i]
		label := t.labels[c.labelOff : c.labelOff+c.labelLen]
		if len(path)-pos < len(label) || string(path[pos:pos+len(label)]) != label {
			return -1, deepestPrefix
		}
		pos += len(label)
	}
}

func (t *radixTree) exactRoutes(i int32) []*Route {
	n := &t.nodes[i]
	return t.routes[n.exactOff : n.exactOff+n.exactLen]
}

func (t *radixTree) prefixRoutes(i int32) []*Route {
	n := &t.nodes[i]
	return t.routes[n.prefixOff : n.prefixOff+n.prefixLen]
}

// prefixMatches reports whether a prefix of length plen matches path on a
// segment boundary: "/api" matches "/api" and "/api/x" but not "/apis", and
// "/api/" matches everything below "/api/".
func prefixMatches(path []byte, plen int) bool {
	return plen == len(path) || path[plen-1] == '/' || path[plen] == '/'
}

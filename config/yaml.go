package config

import (
	"fmt"
	"strconv"

	yamlv3 "go.yaml.in/yaml/v3"
)

// parseYAML reads a YAML document into the nested maps koanf merges. It walks
// the node tree itself instead of letting the YAML library decode into a
// map: that library checks duplicate keys pairwise, which takes seconds for a
// file of 10,000 contracts. Here a duplicate key is found in one pass and
// reported with its line.
//
// Aliases are followed, but each node an alias brings in counts against a
// budget as large as the document itself plus maxAliasNodes: a file of a
// few hundred bytes whose aliases nest (the "billion laughs") is refused
// at once instead of taking gigabytes.
func parseYAML(b []byte) (map[string]any, error) {
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return map[string]any{}, nil // an empty file
	}
	w := &yamlWalker{budget: countNodes(&doc) + maxAliasNodes}
	v, err := w.value(doc.Content[0], 0)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return map[string]any{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("line %d: the file must be a mapping of keys", doc.Content[0].Line)
	}
	return m, nil
}

// maxAliasNodes is how many values aliases may add beyond the size of the
// document: thousands of contracts sharing one contact list fit in it.
const maxAliasNodes = 100_000

// yamlWalker turns nodes into values within a budget of nodes.
type yamlWalker struct{ budget int }

// countNodes counts the nodes of the tree as written, aliases not followed.
func countNodes(n *yamlv3.Node) int {
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

func (w *yamlWalker) value(n *yamlv3.Node, depth int) (any, error) {
	if depth > 64 {
		return nil, fmt.Errorf("line %d: nested too deeply", n.Line)
	}
	if w.budget--; w.budget < 0 {
		return nil, fmt.Errorf("line %d: aliases expand to more than %d values beyond the file's own; refusing (a YAML alias bomb?)", n.Line, maxAliasNodes)
	}
	switch n.Kind {
	case yamlv3.AliasNode:
		return w.value(n.Alias, depth+1)
	case yamlv3.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, vn := n.Content[i], n.Content[i+1]
			if kn.Kind != yamlv3.ScalarNode {
				return nil, fmt.Errorf("line %d: a key must be a plain value", kn.Line)
			}
			key := kn.Value
			if _, dup := m[key]; dup {
				return nil, fmt.Errorf("line %d: key %q appears twice in the same mapping", kn.Line, key)
			}
			v, err := w.value(vn, depth+1)
			if err != nil {
				return nil, err
			}
			m[key] = v
		}
		return m, nil
	case yamlv3.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := w.value(c, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yamlv3.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return n.Value, nil
		case "!!null":
			return nil, nil
		case "!!int":
			if v, err := strconv.Atoi(n.Value); err == nil {
				return v, nil
			}
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

package templates

import (
	"strconv"
	"strings"
)

func itoa(n int) string { return strconv.Itoa(n) }

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// zoneAfterRegion is what a zone adds to its region ("-h" of
// "cn-hangzhou-h"), so the cell reads as the zone with the region standing
// out; a zone named otherwise is shown whole.
func zoneAfterRegion(region, zone string) string {
	if rest, ok := strings.CutPrefix(zone, region); ok && rest != "" {
		return rest
	}
	if zone == "" {
		return ""
	}
	return " " + zone
}

// splitRequestID finds "RequestId X" in a message: the text before X, X,
// and the text after it ("" for X when there is none).
func splitRequestID(text string) (before, id, after string) {
	const key = "RequestId "
	i := strings.Index(text, key)
	if i < 0 {
		return text, "", ""
	}
	start := i + len(key)
	end := start
	for end < len(text) && (isIDByte(text[end])) {
		end++
	}
	if end == start {
		return text, "", ""
	}
	return text[:start], text[start:end], text[end:]
}

func isIDByte(b byte) bool {
	return b == '-' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

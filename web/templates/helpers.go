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

/*
 * report_svg.c - the chart of consumed capacity over the incident against the budget:
 * an <svg> element drawn by hand (no library, nothing fetched), scaled by its viewBox so
 * it fits a phone's width and prints. The cumulative capacity units the responses
 * reported are a step line over time; the budget, when one is known, a dashed line.
 */
#include <stdio.h>
#include <string.h>

#include "report/report.h"
#include "report/report_internal.h"

#define W  640.0
#define H  240.0
#define ML 56.0 /* margins: room for the axis labels */
#define MR 16.0
#define MT 16.0
#define MB 36.0

int report_svg(const report *r, bg_buf *out)
{
	json_t *m = report_model(r), *pts = json_object_get(m, "capacity_points"), *p;
	json_t *budget = json_object_get(json_object_get(m, "capacity"), "budget");
	double top = 0, x, y, prev_y = H - MB,
	       b = json_is_number(budget) ? json_number_value(budget) : -1;
	int64_t t0 = 0, t1 = 0, t;
	size_t i, n = json_array_size(pts);
	int rc = 0;

	json_array_foreach(pts, i, p)
	{
		double c = json_number_value(json_object_get(p, "cumulative"));
		t = rep_ts_ms(rep_str(p, "ts"));
		if (c > top)
			top = c;
		if (t > 0 && (t0 == 0 || t < t0))
			t0 = t;
		if (t > t1)
			t1 = t;
	}
	if (b > top)
		top = b;
	top = top > 0 ? top * 1.1 : 1;
	if (t1 <= t0)
		t1 = t0 + 1000;
	rc |=
	    bg_buf_addf(out,
	                "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
	                "class=\"chart\" role=\"img\" aria-label=\"consumed capacity over "
	                "the incident\">\n"
	                "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>\n"
	                "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#333\"/>\n"
	                "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#333\"/>\n",
	                W, H, W, H, ML, H - MB, W - MR, H - MB, ML, MT, ML, H - MB);
	rc |= bg_buf_addf(
	    out,
	    "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%.1f</text>\n"
	    "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">0</text>\n"
	    "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" transform=\"rotate(-90 12 %.0f)\">"
	    "capacity units</text>\n",
	    ML - 4, MT + 10, top, ML - 4, H - MB, 12.0, (H - MB) / 2 + 30, (H - MB) / 2 + 30);
	if (n == 0) {
		rc |= bg_buf_addf(
		    out,
		    "<text x=\"%.0f\" y=\"%.0f\" font-size=\"13\" text-anchor=\"middle\">"
		    "no consumed capacity was recorded</text>\n",
		    (ML + W - MR) / 2, (MT + H - MB) / 2);
	} else {
		char a[32], z[32];
		snprintf(a, sizeof(a), "%s",
		         rep_str(json_array_get(pts, 0), "ts")
		             ? rep_str(json_array_get(pts, 0), "ts")
		             : "");
		snprintf(z, sizeof(z), "%s",
		         rep_str(json_array_get(pts, n - 1), "ts")
		             ? rep_str(json_array_get(pts, n - 1), "ts")
		             : "");
		rc |= bg_buf_addf(out,
		                  "<polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"2\" "
		                  "points=\"%.1f,%.1f",
		                  ML, H - MB);
		json_array_foreach(pts, i, p)
		{
			double c = json_number_value(json_object_get(p, "cumulative"));
			t = rep_ts_ms(rep_str(p, "ts"));
			if (t < t0)
				t = t0;
			x = ML + (W - ML - MR) * (double)(t - t0) / (double)(t1 - t0);
			y = (H - MB) - (H - MB - MT) * c / top;
			rc |= bg_buf_addf(out, " %.1f,%.1f %.1f,%.1f", x, prev_y, x, y);
			prev_y = y;
		}
		rc |= bg_buf_adds(out, "\"/>\n");
		rc |= bg_buf_adds(out, "<text x=\"56\" y=\"222\" font-size=\"11\">");
		rc |= report_html_esc(out, a);
		rc |= bg_buf_adds(
		    out,
		    "</text>\n<text x=\"624\" y=\"222\" font-size=\"11\" text-anchor=\"end\">");
		rc |= report_html_esc(out, z);
		rc |= bg_buf_adds(out, "</text>\n");
	}
	if (b >= 0) {
		y = (H - MB) - (H - MB - MT) * b / top;
		rc |= bg_buf_addf(
		    out,
		    "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#d1242f\" "
		    "stroke-dasharray=\"6 4\"/>\n"
		    "<text x=\"%.0f\" y=\"%.1f\" font-size=\"11\" fill=\"#d1242f\" "
		    "text-anchor=\"end\">budget %.1f</text>\n",
		    ML, y, W - MR, y, W - MR, y - 4, b);
	}
	rc |= bg_buf_adds(out, "</svg>\n");
	return out->failed != 0 ? out->failed : rc != 0 ? BG_ENOMEM : 0;
}

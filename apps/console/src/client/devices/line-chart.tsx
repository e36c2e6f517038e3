/**
 * A small inline SVG line chart for a device's history (no chart library): one or more series
 * over the same time axis, gaps where the device was silent (`null`). Accessible as one image
 * whose name says what it shows and the latest, lowest and highest values; the numbers are
 * also in the page's facts, so nothing is only in the picture.
 */

export interface ChartSeries {
  readonly label: string;
  readonly values: readonly (number | null)[];
  /** CSS class of the line (colour comes from globals.css). */
  readonly className: string;
}

const W = 480;
const H = 140;
const PAD_L = 52;
const PAD_B = 22;
const PAD_T = 8;

/** The path of one series: moves over gaps, lines between consecutive known points. */
function pathOf(values: readonly (number | null)[], x: (i: number) => number, y: (v: number) => number): string {
  let d = "";
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  });
  return d;
}

/** Known points with no known neighbour: drawn as dots, since a path of one point is invisible. */
function isolated(values: readonly (number | null)[]): number[] {
  const out: number[] = [];
  values.forEach((v, i) => {
    if (v !== null && (values[i - 1] ?? null) === null && (values[i + 1] ?? null) === null) out.push(i);
  });
  return out;
}

function summary(values: readonly (number | null)[], format: (v: number) => string): string {
  const known = values.filter((v): v is number => v !== null);
  if (known.length === 0) return "no data";
  const last = known[known.length - 1] ?? 0;
  return `latest ${format(last)}, lowest ${format(Math.min(...known))}, highest ${format(Math.max(...known))}`;
}

export function LineChart({
  title,
  series,
  start,
  stepMs,
  format,
  max,
  testId,
}: {
  title: string;
  series: readonly ChartSeries[];
  start: number;
  stepMs: number;
  format: (v: number) => string;
  /** Fixed top of the scale (100 for percentages); otherwise the highest value. */
  max?: number;
  testId?: string;
}) {
  const n = Math.max(1, ...series.map((s) => s.values.length));
  let top = max ?? 0;
  if (max === undefined) for (const s of series) for (const v of s.values) if (v !== null && v > top) top = v;
  if (top <= 0) top = 1;
  const x = (i: number) => PAD_L + (n <= 1 ? 0 : (i / (n - 1)) * (W - PAD_L - 4));
  const y = (v: number) => PAD_T + (1 - Math.min(v, top) / top) * (H - PAD_T - PAD_B);
  const name = `${title}: ${series.map((s) => `${s.label} ${summary(s.values, format)}`).join("; ")}`;
  const end = start + (n - 1) * stepMs;
  const time = (t: number) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return (
    <figure className="chart" data-testid={testId}>
      <figcaption>
        {title}
        {series.length > 1 ? (
          <span className="chart-legend">
            {series.map((s) => (
              <span key={s.label} className={`legend ${s.className}`}>
                {s.label}
              </span>
            ))}
          </span>
        ) : null}
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={name}>
        <line className="axis" x1={PAD_L} y1={H - PAD_B} x2={W} y2={H - PAD_B} />
        <line className="grid" x1={PAD_L} y1={y(top / 2)} x2={W} y2={y(top / 2)} />
        <text className="tick" x={PAD_L - 4} y={PAD_T + 8} textAnchor="end">
          {format(top)}
        </text>
        <text className="tick" x={PAD_L - 4} y={H - PAD_B} textAnchor="end">
          {format(0)}
        </text>
        <text className="tick" x={PAD_L} y={H - 6}>
          {time(start)}
        </text>
        <text className="tick" x={W - 4} y={H - 6} textAnchor="end">
          {time(end)}
        </text>
        {series.map((s) => (
          <g key={s.label} className={s.className}>
            <path className="line" d={pathOf(s.values, x, y)} />
            {isolated(s.values).map((i) => (
              <circle key={i} className="dot" cx={x(i)} cy={y(s.values[i] ?? 0)} r={2.5} />
            ))}
          </g>
        ))}
      </svg>
    </figure>
  );
}

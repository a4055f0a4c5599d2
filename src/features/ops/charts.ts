import type { HourlyCounts } from './summary.ts';

const WIDTH = 720;
const VOLUME_HEIGHT = 110;
const RATE_HEIGHT = 90;
// Room for labels at the largest axis font (page.ts: 10 units wide, 22 on a narrow screen,
// where the whole chart is drawn at under half its size).
const LABEL_FONT_MAX = 22;
const GAP = 38;
const LEFT = 84;
const RIGHT = 8;
const TOP = 28;
const BOTTOM = 36;
/** A threshold label's width at LABEL_FONT_MAX, over-estimated (0.62 em a character). */
const labelWidth = (text: string) => Math.ceil(text.length * LABEL_FONT_MAX * 0.62);

export interface ChartThresholds {
  bounceRate: number;
  spamRate: number;
}

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const percent = (rate: number) => `${(rate * 100).toFixed(rate < 0.01 ? 2 : 1)}%`;

/** A round ceiling for an axis, so the labels read 0 / 50 / 100 rather than 0 / 47 / 94. */
function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((candidate) => candidate * magnitude >= value) ?? 10;
  return step * magnitude;
}

function hourLabel(hour: string, multiDay: boolean): string {
  const date = new Date(hour);
  const hh = String(date.getUTCHours()).padStart(2, '0');
  return multiDay ? `${date.toISOString().slice(5, 10)}` : `${hh}:00`;
}

/**
 * Draws hourly Postmark counts on the server as inline SVG (no script, no asset): messages per
 * hour stacked by kind, and below them the hourly bounce and spam rates against the alert
 * thresholds, drawn as dashed lines.
 */
export function renderPostmarkChart(
  id: string,
  title: string,
  hours: HourlyCounts[],
  thresholds: ChartThresholds,
): string {
  const plotWidth = WIDTH - LEFT - RIGHT;
  const slot = plotWidth / Math.max(1, hours.length);
  const barWidth = Math.max(1, slot * 0.8);
  const multiDay = hours.length > 24;
  const totals = hours.map((hour) => hour.delivered + hour.bounced + hour.spam_complaint);
  const volumeMax = niceCeiling(Math.max(0, ...totals));
  const rates = hours.map((hour, index) => {
    const total = totals[index] ?? 0;
    return {
      bounce: total === 0 ? null : hour.bounced / total,
      spam: total === 0 ? null : hour.spam_complaint / total,
    };
  });
  const rateMax = niceCeiling(
    Math.max(
      thresholds.bounceRate * 1.5,
      thresholds.spamRate * 1.5,
      ...rates.flatMap((rate) => [rate.bounce ?? 0, rate.spam ?? 0]),
    ),
  );
  const rateTop = TOP + VOLUME_HEIGHT + GAP;
  const height = rateTop + RATE_HEIGHT + BOTTOM;
  const volumeY = (value: number) => TOP + VOLUME_HEIGHT - (value / volumeMax) * VOLUME_HEIGHT;
  const rateY = (value: number) => rateTop + RATE_HEIGHT - (Math.min(value, rateMax) / rateMax) * RATE_HEIGHT;
  const x = (index: number) => LEFT + index * slot + (slot - barWidth) / 2;

  const bars = hours
    .map((hour, index) => {
      const parts: string[] = [];
      let base = 0;
      for (const [kind, value, fill] of [
        ['delivered', hour.delivered, '#4c8bf5'],
        ['bounced', hour.bounced, '#f29d38'],
        ['spam_complaint', hour.spam_complaint, '#d9413a'],
      ] as const) {
        if (value === 0) continue;
        const y = volumeY(base + value);
        const h = volumeY(base) - y;
        parts.push(
          `<rect class="bar ${kind}" x="${x(index).toFixed(1)}" y="${y.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${Math.max(h, 0.5).toFixed(1)}" fill="${fill}"><title>${escapeXml(`${hour.hour}: ${value} ${kind}`)}</title></rect>`,
        );
        base += value;
      }
      return parts.join('');
    })
    .join('');

  const line = (kind: 'bounce' | 'spam', stroke: string) => {
    const points = rates
      .map((rate, index) =>
        rate[kind] === null
          ? null
          : `${(x(index) + barWidth / 2).toFixed(1)},${rateY(rate[kind] ?? 0).toFixed(1)}`,
      )
      .filter((point): point is string => point !== null);
    if (points.length === 0) return '';
    if (points.length === 1) {
      const [cx, cy] = (points[0] ?? '0,0').split(',');
      return `<circle class="rate ${kind}" cx="${cx}" cy="${cy}" r="2.5" fill="${stroke}"/>`;
    }
    return `<polyline class="rate ${kind}" points="${points.join(' ')}" fill="none" stroke="${stroke}" stroke-width="1.5"/>`;
  };

  // Each label sits just above its own line, and the two side by side (bounce at the right
  // end, spam to its left): however close the thresholds, their labels never print over
  // each other.
  const bounceLabel = `bounce alert ${percent(thresholds.bounceRate)}`;
  const spamLabel = `spam alert ${percent(thresholds.spamRate)}`;
  const threshold = (kind: 'bounce' | 'spam', rate: number, stroke: string, label: string, right: number) => {
    const y = rateY(rate).toFixed(1);
    return (
      `<line class="threshold ${kind}" data-rate="${rate}" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y}" y2="${y}" stroke="${stroke}" stroke-dasharray="5 4" stroke-width="1.2"/>` +
      `<text class="axis threshold-label ${kind}" x="${right}" y="${(Number(y) - 3).toFixed(1)}" text-anchor="end" fill="${stroke}">${escapeXml(label)}</text>`
    );
  };
  const bounceRight = WIDTH - RIGHT - 4;
  const spamRight = bounceRight - labelWidth(bounceLabel) - 12;

  const labelEvery = multiDay ? 24 : 3;
  const xLabels = hours
    .map((hour, index) =>
      index % labelEvery === 0
        ? `<text class="axis" x="${(x(index) + barWidth / 2).toFixed(1)}" y="${height - 6}" text-anchor="middle">${hourLabel(hour.hour, multiDay)}</text>`
        : '',
    )
    .join('');

  return `<svg class="chart" id="${escapeXml(id)}" data-chart="${escapeXml(id)}" viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" aria-label="${escapeXml(title)}" xmlns="http://www.w3.org/2000/svg">
<title>${escapeXml(title)}</title>
<text class="axis" x="${LEFT - 6}" y="${TOP + 4}" text-anchor="end">${volumeMax}</text>
<text class="axis" x="${LEFT - 6}" y="${TOP + VOLUME_HEIGHT}" text-anchor="end">0</text>
<text class="axis" x="${LEFT}" y="${TOP - 3}">messages / hour</text>
<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${TOP + VOLUME_HEIGHT}" y2="${TOP + VOLUME_HEIGHT}" stroke="#999" stroke-width="0.5"/>
${bars}
<text class="axis" x="${LEFT}" y="${rateTop - 3}">bounce and spam rate / hour</text>
<text class="axis" x="${LEFT - 6}" y="${rateTop + 4}" text-anchor="end">${percent(rateMax)}</text>
<text class="axis" x="${LEFT - 6}" y="${rateTop + RATE_HEIGHT}" text-anchor="end">0</text>
<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${rateTop + RATE_HEIGHT}" y2="${rateTop + RATE_HEIGHT}" stroke="#999" stroke-width="0.5"/>
${threshold('bounce', thresholds.bounceRate, '#f29d38', bounceLabel, bounceRight)}
${threshold('spam', thresholds.spamRate, '#d9413a', spamLabel, spamRight)}
${line('bounce', '#f29d38')}
${line('spam', '#d9413a')}
${xLabels}
</svg>`;
}

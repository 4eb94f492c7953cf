/**
 * Pictures of a training run as standalone SVG documents: the loss and accuracy curves per epoch
 * (training against validation) and a confusion-matrix heat map. No dependencies: the markup is
 * written directly.
 */

export interface Series {
  name: string;
  values: readonly number[];
  color: string;
  dashed?: boolean;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(v);
  if (ticks[ticks.length - 1] < hi) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1000 || a < 0.01) return v.toExponential(1);
  return Number(v.toPrecision(3)).toString();
}

/** One line chart panel, x = epoch (1-based), placed at (x0, y0) with the given size. */
function linePanel(
  title: string,
  series: readonly Series[],
  x0: number,
  y0: number,
  width: number,
  height: number,
): string {
  const left = 56;
  const right = 16;
  const top = 30;
  const bottom = 40;
  const pw = width - left - right;
  const ph = height - top - bottom;
  const finite = series.flatMap((s) => s.values.filter(Number.isFinite));
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const yt = niceTicks(Math.min(...finite, Infinity), Math.max(...finite, -Infinity), 5);
  const ylo = finite.length ? yt[0] : 0;
  const yhi = finite.length ? yt[yt.length - 1] : 1;
  const sx = (i: number): number => x0 + left + (n === 1 ? pw / 2 : (i / (n - 1)) * pw);
  const sy = (v: number): number => y0 + top + ph - ((v - ylo) / (yhi - ylo || 1)) * ph;
  const parts: string[] = [];
  parts.push(
    `<text x="${x0 + width / 2}" y="${y0 + 18}" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  );
  parts.push(
    `<rect x="${x0 + left}" y="${y0 + top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`,
  );
  if (finite.length) {
    for (const t of yt) {
      const y = sy(t).toFixed(1);
      parts.push(
        `<line x1="${x0 + left}" x2="${x0 + left + pw}" y1="${y}" y2="${y}" stroke="#ddd"/>`,
        `<text x="${x0 + left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${formatTick(t)}</text>`,
      );
    }
  }
  const xStep = Math.max(1, Math.ceil(n / 10));
  for (let i = 0; i < n; i += xStep) {
    parts.push(
      `<text x="${sx(i).toFixed(1)}" y="${y0 + top + ph + 16}" text-anchor="middle" font-size="11">${i + 1}</text>`,
    );
  }
  parts.push(
    `<text x="${x0 + left + pw / 2}" y="${y0 + height - 6}" text-anchor="middle" font-size="12">epoch</text>`,
  );
  series.forEach((s, si) => {
    const pts = s.values
      .map((v, i) => (Number.isFinite(v) ? `${sx(i).toFixed(1)},${sy(v).toFixed(1)}` : null))
      .filter((p): p is string => p !== null);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (pts.length > 1) {
      parts.push(
        `<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`,
      );
    }
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${s.color}"/>`);
    }
    const ly = y0 + top + 14 + si * 16;
    const lx = x0 + left + pw - 150;
    parts.push(
      `<line x1="${lx}" x2="${lx + 20}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 26}" y="${ly}" dominant-baseline="middle" font-size="11">${escapeXml(s.name)}</text>`,
    );
  });
  return parts.join('\n');
}

export interface CurveHistory {
  loss: readonly number[];
  accuracy?: readonly number[];
  valLoss?: readonly number[];
  valAccuracy?: readonly number[];
}

/** Loss (left) and accuracy (right) per epoch, training solid and validation dashed. */
export function trainingCurvesSvg(h: CurveHistory, title = 'Training curves'): string {
  const width = 900;
  const height = 360;
  const lossSeries: Series[] = [{ name: 'training loss', values: h.loss, color: '#1f77b4' }];
  if (h.valLoss?.length) {
    lossSeries.push({ name: 'validation loss', values: h.valLoss, color: '#ff7f0e', dashed: true });
  }
  const accSeries: Series[] = [];
  if (h.accuracy?.length)
    accSeries.push({ name: 'training accuracy', values: h.accuracy, color: '#1f77b4' });
  if (h.valAccuracy?.length) {
    accSeries.push({
      name: 'validation accuracy',
      values: h.valAccuracy,
      color: '#ff7f0e',
      dashed: true,
    });
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height + 30}" viewBox="0 0 ${width} ${height + 30}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    linePanel('Loss', lossSeries, 0, 30, width / 2, height),
    linePanel('Accuracy', accSeries, width / 2, 30, width / 2, height),
    '</svg>',
    '',
  ].join('\n');
}

/** matrix[target][predicted] as a heat map, rows = true class, columns = predicted class. */
export function confusionMatrixSvg(
  matrix: readonly (readonly number[])[],
  classNames: readonly string[] = matrix.map((_, i) => String(i)),
  title = 'Confusion matrix',
): string {
  const n = matrix.length;
  const cell = 44;
  const left = 120;
  const top = 130;
  const width = left + n * cell + 20;
  const height = top + n * cell + 50;
  const max = Math.max(1, ...matrix.flat());
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${left + (n * cell) / 2}" y="${height - 12}" text-anchor="middle" font-size="12">predicted class</text>`,
    `<text transform="translate(14 ${top + (n * cell) / 2}) rotate(-90)" text-anchor="middle" font-size="12">true class</text>`,
  ];
  for (let i = 0; i < n; i++) {
    const name = escapeXml(classNames[i] ?? String(i));
    parts.push(
      `<text x="${left - 6}" y="${top + i * cell + cell / 2}" text-anchor="end" dominant-baseline="middle" font-size="11">${name}</text>`,
      `<text transform="translate(${left + i * cell + cell / 2} ${top - 6}) rotate(-60)" font-size="11">${name}</text>`,
    );
    for (let j = 0; j < n; j++) {
      const v = matrix[i][j];
      const a = v / max;
      const shade = Math.round(255 - a * 200);
      const fill =
        i === j
          ? `rgb(${shade},${Math.round(255 - a * 120)},${shade})`
          : `rgb(255,${shade},${shade})`;
      parts.push(
        `<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${fill}" stroke="#ccc"/>`,
        `<text x="${left + j * cell + cell / 2}" y="${top + i * cell + cell / 2}" text-anchor="middle" dominant-baseline="middle" font-size="11">${v}</text>`,
      );
    }
  }
  parts.push('</svg>', '');
  return parts.join('\n');
}

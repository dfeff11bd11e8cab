// Rounding of reported figures (tables, CSV, JSON keep these values).

export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

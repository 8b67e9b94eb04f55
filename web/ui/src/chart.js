// A small line chart on a canvas: the last 60 samples of one or two series.
import { h } from './dom.js';

const colors = ['#2f7de1', '#e0702f'];

export class Chart {
  constructor(title, fmt, series = 1) {
    this.fmt = fmt;
    this.data = [];
    this.series = series;
    this.value = h('span', { class: 'value', role: 'status' });
    this.canvas = h('canvas', { width: 360, height: 120, role: 'img', 'aria-label': title + ' over the last minute' });
    this.el = h('figure', { class: 'chart' }, h('figcaption', {}, title, ' ', this.value), this.canvas);
  }

  push(vals) {
    this.data.push(vals);
    if (this.data.length > 60) this.data.shift();
    this.value.textContent = vals.map(this.fmt).join(' / ');
    this.el.dataset.samples = this.data.length;
    this.draw();
  }

  draw() {
    const c = this.canvas;
    const g = c.getContext('2d');
    g.clearRect(0, 0, c.width, c.height);
    const max = Math.max(1e-9, ...this.data.flat());
    for (let s = 0; s < this.series; s++) {
      g.strokeStyle = colors[s];
      g.lineWidth = 2;
      g.beginPath();
      this.data.forEach((v, i) => {
        const x = (i / 59) * (c.width - 2) + 1;
        const y = c.height - 2 - (v[s] / max) * (c.height - 6);
        i ? g.lineTo(x, y) : g.moveTo(x, y);
      });
      g.stroke();
    }
  }
}

// Push-to-talk: the microphone streams PCM16 to the voice websocket; events and spoken WAV come back.
// The microphone stays open while the answer plays, so speaking over it interrupts it (barge-in):
// the gateway sends `tts-stop`, playback stops at once (the answer's text stays on screen) and the
// next run is already open on the same socket.

import { openMic } from '/shared/mic.js';

/** Plays WAV chunks one after another, in arrival order; stop() silences everything queued. */
class Player {
  constructor() {
    this.ctx = null;
    this.endsAt = 0;
    this.sources = new Set();
    this.generation = 0;
  }

  async play(buffer) {
    this.ctx = this.ctx || new AudioContext();
    const generation = this.generation;
    const audio = await this.ctx.decodeAudioData(buffer);
    if (generation !== this.generation) return; // stopped while decoding
    const source = this.ctx.createBufferSource();
    source.buffer = audio;
    source.connect(this.ctx.destination);
    const at = Math.max(this.ctx.currentTime, this.endsAt);
    source.onended = () => { this.sources.delete(source); this.mark(); };
    this.sources.add(source);
    source.start(at);
    this.endsAt = at + audio.duration;
    this.mark();
  }

  stop() {
    this.generation += 1;
    for (const source of this.sources) {
      source.onended = null;
      source.stop();
    }
    this.sources.clear();
    this.endsAt = 0;
    this.mark('stopped');
  }

  /** Playback state on <body data-voice-playback> (playing | stopped | idle), for the page and its tests. */
  mark(state) {
    document.body.dataset.voicePlayback = state || (this.sources.size ? 'playing' : 'idle');
  }
}

export class PushToTalk {
  /** handlers: {onEvent(event), onState(text)}; token: the device token. */
  constructor(token, handlers) {
    this.token = token;
    this.handlers = handlers;
    this.player = new Player();
    this.ws = null;
    this.capture = null;
    this.answering = false; // the final came: the mic stays open for barge-in until run-end
    this.interrupted = false;
  }

  /** Open a run: socket, start message, microphone. */
  async start() {
    if (this.ws) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/api/v1/voice`);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onmessage = (msg) => this.receive(msg.data);
    ws.onclose = () => {
      if (this.ws === ws) this.ws = null;
      this.stopMic();
    };
    try {
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error('无法连接语音服务'));
      });
      // the token goes first: the gateway closes a socket that has not sent it within a few seconds,
      // and the microphone permission prompt may take longer than that
      ws.send(JSON.stringify({ type: 'auth', token: this.token }));
      this.capture = await openMic();
      ws.send(JSON.stringify({
        type: 'start', format: 'pcm16',
        sample_rate: this.capture.sampleRate, turn_id: crypto.randomUUID(),
      }));
      this.capture.onFrame = (frame) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(frame);
      };
      this.handlers.onState('正在听…');
    } catch (err) {
      this.handlers.onState(err.name === 'NotAllowedError' ? '没有麦克风权限' : (err.message || '麦克风不可用'));
      this.close();
    }
  }

  /** The user let go: end of audio (once the answer is coming, the mic stays open for barge-in). */
  stop() {
    if (this.answering) return;
    this.stopMic();
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: 'end' }));
      this.handlers.onState('正在思考…');
    }
  }

  stopMic() {
    if (this.capture) {
      this.capture.close();
      this.capture = null;
    }
  }

  close() {
    this.stopMic();
    if (this.ws) this.ws.close();
    this.ws = null;
  }

  receive(data) {
    if (data instanceof ArrayBuffer) {
      this.player.play(data).catch(() => this.handlers.onState('播放失败'));
      return;
    }
    let event;
    try {
      event = JSON.parse(data);
    } catch (err) {
      return;
    }
    if (event.type === 'stt-final') this.answering = true;
    if (event.type === 'tts-stop') {
      this.player.stop();
      this.interrupted = true;
      this.handlers.onState('正在听…');
    }
    this.handlers.onEvent(event);
    if (event.type === 'run-end') {
      this.answering = false;
      if (this.interrupted) {
        this.interrupted = false; // barge-in: the gateway opened the next run already
        return;
      }
      this.handlers.onState('');
      this.close();
    }
  }
}

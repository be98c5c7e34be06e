// The microphone as PCM16 frames of about 100 ms (AudioWorklet), for the panel's push-to-talk and the
// studio's spoken tries.

/** Open the microphone; `capture.onFrame(Int16Array)` hears each frame, `capture.close()` ends it. */
export async function openMic() {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  const ctx = new AudioContext();
  await ctx.audioWorklet.addModule('/shared/mic-worklet.js');
  const source = ctx.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(ctx, 'pcm-capture');
  const capture = {
    sampleRate: ctx.sampleRate,
    onFrame: null,
    close() {
      node.port.onmessage = null;
      source.disconnect();
      stream.getTracks().forEach((t) => t.stop());
      ctx.close();
    },
  };
  node.port.onmessage = (e) => capture.onFrame && capture.onFrame(e.data);
  source.connect(node);
  return capture;
}

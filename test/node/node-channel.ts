// A Node Channel over one side of an in-memory connection pair, for the tests
// of the Node channel streams that need no socket.
import { Channel, type ChannelHost, type ChannelCommands } from '../../src/io/node/channel.js';
import type { Side } from '../core/connection-helpers.js';

/** A Node Channel over one side of an in-memory connection pair. */
export function nodeChannel(side: Side, id: number): Channel {
  const c = side.conn;
  // The in-memory Connection has no clock: the commands' time is dropped.
  const commands: ChannelCommands = {
    write: (_now, ch, data, type, prefix) => c.write(ch, data, type, prefix),
    consumed: (_now, ch, n) => c.consumed(ch, n),
    growWindow: (_now, ch, size) => c.growWindow(ch, size),
    eof: (_now, ch) => c.eof(ch),
    closeChannel: (_now, ch) => c.close(ch),
    channelRequest: (_now, ch, type, wantReply, data) => c.channelRequest(ch, type, wantReply, data),
    answerChannelRequest: (_now, ch, ok) => c.answerChannelRequest(ch, ok),
  };
  const host: ChannelHost = { connection: c, endpoint: commands, now: () => 0, run: () => undefined, needsDrain: false, onDrain: () => undefined };
  return new Channel(host, id, 'session');
}

// The telegram-test-api emulator (npm, 4.2.1) behind a thin compatibility layer, so that an
// unmodified teloxide bot runs against it. The emulator keeps the messages; this layer answers
// the Bot API methods the emulator gets wrong for teloxide (see docs/ARCHITECTURE.md, "Telegram
// tests"), and adds two test controls.
//
//   TG_MODULES=<dir with node_modules> node telegram-compat.js
//   prints "listening on http://127.0.0.1:PORT" (a free port unless TG_PORT is set)
//
// Bot side (/bot<token>/<Method>, any case, GET or POST, JSON or form):
//   getMe: a full User with the bot flags; deleteWebhook, setWebhook, setMyCommands,
//   deleteMyCommands, sendChatAction: true; getMyCommands: the list set; answerCallbackQuery:
//   true once per callback query delivered by getUpdates, else HTTP 400 "query is too old and
//   response timeout expired or query ID is invalid" as on Telegram (an answer to an unknown,
//   or an already answered, query); its callback_query_id, text and show_alert are recorded;
//   sendMessage, editMessageText, editMessageReplyMarkup: a real Message (seconds, from, chat
//   with its type, edit_date); an edit without reply_markup drops the buttons, as Telegram
//   does, and marks the message unread so the user side sees it again; "message is not
//   modified" and "message to edit not found" are HTTP 400 as on Telegram;
//   sendDocument (multipart/form-data; the file under `document` or `attach://<name>`, as
//   teloxide uploads): a Message with `document` (file_id,
//   file_unique_id, file_name, mime_type, file_size) and `caption`; refused as Telegram does
//   with no file ("there is no document in the request"), an empty one ("file must be
//   non-empty"), a caption over 1024 characters ("message caption is too long"), a body over
//   the 50 MB upload limit (HTTP 413);
//   a send to a private chat (a positive id) the user never wrote to the bot in: HTTP 403
//   "Forbidden: bot can't initiate conversation with a user", as on Telegram;
//   getUpdates: long polling that honours timeout, offset (updates before it are confirmed and
//   dropped; the rest are delivered again until confirmed) and limit; callback queries carry
//   chat_instance and the pressed message as the bot sent it;
//   any other method: HTTP 400 "not emulated" (never 500, which stalls teloxide for 10 s).
// User side: the emulator's own (/sendMessage, /sendCommand, /sendCallback, /getUpdates,
//   /getUpdatesHistory); /sendMessage and /sendCommand answer with the new message's id.
//   Also /_compat/editMessage {botToken, from, chat, message_id, text} (a user edits a message:
//   an edited_message update) and /_compat/addBot {botToken, from, chat} (a user adds the bot to
//   a group: a my_chat_member update); leaveChat is recorded and answered true.
// Files: GET /_compat/file/<file_id> answers a document's bytes (Telegram's getFile + download).
// Controls: POST /_compat/save writes the emulator's state to $TG_STATE, which a start with the
//   same TG_STATE loads (a server restart that keeps its data). POST /_compat/fail {method, count, retry_after} makes the next `count` calls of
//   `method` fail with HTTP 429 and that retry_after; GET /_compat/calls lists every bot call
//   (time in ms, method, chat, message, text, reply_to, status, delivered update ids).
'use strict';
const path = require('path');
const modules = process.env.TG_MODULES || path.join(__dirname, 'node_modules');
const req = (m) => require(path.join(modules, 'node_modules', m));
const TelegramServer = req('telegram-test-api');
const express = req('express');

const host = '127.0.0.1';
const ts = new TelegramServer({ port: 1, host, storeTimeout: 24 * 3600 });
const botName = process.env.TG_BOT_USERNAME || 'labkube_test_bot';
const chats = new Map(); // chat id -> chat object as users sent it
const commands = new Map(); // token -> commands
const failures = []; // {method, count, retry_after}
const calls = [];
// Callback queries delivered and not answered yet.
const openQueries = new Set();
// Documents the bot sent: file_id -> base64 content.
const files = new Map();
// Telegram's limits for bots (https://core.telegram.org/bots/api#senddocument: files up to
// 50 MB, captions of 0-1024 characters after entities parsing).
const UPLOAD_MAX = 50 * 1024 * 1024;
const CAPTION_MAX = 1024;
// A bot may write to a user's private chat (its id is the user's) only once the user has
// written to the bot there; until then Telegram answers 403 with these words.
const CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user";
const unopened = (chatId) => Number(chatId) > 0 && !chats.has(String(chatId));

const now = () => Number(process.hrtime.bigint() / 1000n) / 1000; // ms, monotonic
const botUser = (token) => ({
  id: Number(String(token).split(':')[0]) || 666,
  is_bot: true,
  first_name: 'labkube',
  username: botName,
});
const chatOf = (id) => chats.get(String(id)) || { id: Number(id), type: 'private', first_name: 'User' };
const ok = (res, result) => res.json({ ok: true, result });
const bad = (res, code, description, extra) =>
  res.status(code).json(Object.assign({ ok: false, error_code: code, description }, extra || {}));
const parseJson = (v) => (typeof v === 'string' ? JSON.parse(v) : v);

function findBotMessage(token, chatId, messageId) {
  return ts.storage.botMessages.find((u) => u.botToken === token
    && String(u.message.chat_id) === String(chatId) && String(u.messageId) === String(messageId));
}

function asMessage(token, rec, edited) {
  const m = rec.message;
  const out = {
    message_id: rec.messageId,
    date: Math.floor(rec.time / 1000),
    chat: chatOf(m.chat_id),
    from: botUser(token),
  };
  if (m.document) {
    out.document = m.document;
    if (m.text) out.caption = m.text;
  } else {
    out.text = m.text;
  }
  if (m.reply_markup && m.reply_markup.inline_keyboard && m.reply_markup.inline_keyboard.length) {
    out.reply_markup = m.reply_markup;
  }
  if (edited) out.edit_date = Math.floor(Date.now() / 1000);
  return out;
}

function formatUpdate(token, u) {
  if (u.edited) return { update_id: u.updateId, edited_message: u.edited };
  if (u.member) return { update_id: u.updateId, my_chat_member: u.member };
  const f = TelegramServer.formatUpdate(u);
  if (f.callback_query) {
    const q = f.callback_query;
    const chat = q.message && q.message.chat ? q.message.chat : {};
    q.chat_instance = String(chat.id || 0);
    const rec = q.message && findBotMessage(token, chat.id, q.message.message_id);
    if (rec) q.message = asMessage(token, rec, false);
    else if (q.message) q.message = Object.assign({ date: Math.floor(Date.now() / 1000) }, q.message);
  }
  return f;
}

const stateFile = process.env.TG_STATE;
function save() {
  if (!stateFile) return;
  const state = { storage: ts.storage, messageId: ts.messageId, updateId: ts.updateId, callbackId: ts.callbackId,
    chats: [...chats], commands: [...commands], files: [...files] };
  require('fs').writeFileSync(stateFile, JSON.stringify(state));
}
if (stateFile && require('fs').existsSync(stateFile)) {
  const st = JSON.parse(require('fs').readFileSync(stateFile, 'utf8'));
  Object.assign(ts, { storage: st.storage, messageId: st.messageId, updateId: st.updateId, callbackId: st.callbackId });
  st.chats.forEach(([k, v]) => chats.set(k, v));
  st.commands.forEach(([k, v]) => commands.set(k, v));
  (st.files || []).forEach(([k, v]) => files.set(k, v));
}

// ---- controls and the user side (before the emulator's own routes) ----
const app = express();
app.use(express.json());
app.use(express.urlencoded({ extended: true }));
app.use((rq, res, next) => { res.sendResult = (d) => res.json(d); res.sendError = (e) => bad(res, 400, e.message); next(); });

app.post('/_compat/fail', (rq, res) => {
  const { method, count, retry_after: retryAfter } = rq.body;
  failures.push({ method: String(method).toLowerCase(), count: Number(count) || 1, retry_after: Number(retryAfter) || 1 });
  ok(res, true);
});
app.get('/_compat/calls', (rq, res) => ok(res, calls));
app.get('/_compat/file/:id', (rq, res) => {
  const b64 = files.get(String(rq.params.id));
  if (b64 === undefined) return bad(res, 400, 'Bad Request: wrong file_id or the file is temporarily unavailable');
  res.type('application/octet-stream').send(Buffer.from(b64, 'base64'));
});

// A multipart/form-data body (file uploads): its fields into rq.body, its files into rq.files,
// parsed by Node's own fetch implementation; over the upload limit, HTTP 413 as Telegram.
app.use(async (rq, res, next) => {
  if (!String(rq.headers['content-type'] || '').startsWith('multipart/form-data')) return next();
  const chunks = [];
  let size = 0;
  try {
    for await (const c of rq) {
      size += c.length;
      if (size > UPLOAD_MAX + 1024 * 1024) return res.status(413).send('Request Entity Too Large');
      chunks.push(c);
    }
    const form = await new Request('http://local/', {
      method: 'POST', headers: { 'content-type': rq.headers['content-type'] }, body: Buffer.concat(chunks),
    }).formData();
    rq.body = {};
    rq.files = {};
    for (const [k, v] of form.entries()) {
      if (typeof v === 'string') rq.body[k] = v;
      else rq.files[k] = { name: v.name, type: v.type, bytes: Buffer.from(await v.arrayBuffer()) };
    }
  } catch (e) {
    return bad(res, 400, `Bad Request: ${e.message || e}`);
  }
  return next();
});
app.post('/_compat/save', (rq, res) => { save(); ok(res, true); });

function pushUser(token, rec, event) {
  ts.storage.userMessages.push(Object.assign({ botToken: token, time: Date.now(), updateId: ts.updateId, isRead: false }, rec));
  ts.updateId++;
  ts.emit(event);
}
app.post('/_compat/editMessage', (rq, res) => {
  const b = rq.body;
  const edited = { message_id: Number(b.message_id), from: b.from, chat: b.chat, date: Math.floor(Date.now() / 1000) - 1,
    edit_date: Math.floor(Date.now() / 1000), text: b.text };
  pushUser(b.botToken, { edited }, 'AddedUserMessage');
  ok(res, true);
});
app.post('/_compat/addBot', (rq, res) => {
  const b = rq.body;
  chats.set(String(b.chat.id), b.chat);
  const bot = botUser(b.botToken);
  const member = { chat: b.chat, from: b.from, date: Math.floor(Date.now() / 1000),
    old_chat_member: { user: bot, status: 'left' }, new_chat_member: { user: bot, status: 'member' } };
  pushUser(b.botToken, { member }, 'AddedUserMessage');
  ok(res, true);
});

for (const [route, fn] of [['/sendMessage', 'addUserMessage'], ['/sendCommand', 'addUserCommand']]) {
  app.post(route, async (rq, res) => {
    const body = rq.body;
    if (body.chat) chats.set(String(body.chat.id), body.chat);
    const messageId = ts.messageId;
    const updateId = ts.updateId;
    try {
      await ts[fn](body);
    } catch (e) {
      return bad(res, 400, String(e.message || e));
    }
    ok(res, { message_id: messageId, update_id: updateId });
  });
}

// ---- the bot side ----
function waitForUser(ms) {
  return new Promise((resolve) => {
    const events = ['AddedUserMessage', 'AddedUserCommand', 'AddedUserCallbackQuery'];
    const done = () => { clearTimeout(timer); events.forEach((e) => ts.off(e, done)); resolve(); };
    const timer = setTimeout(done, ms);
    events.forEach((e) => ts.on(e, done));
  });
}

async function getUpdates(token, p, rq) {
  const offset = p.offset === undefined ? undefined : Number(p.offset);
  const limit = Math.min(Math.max(Number(p.limit) || 100, 1), 100);
  const deadline = Date.now() + Math.min(Number(p.timeout) || 0, 50) * 1000;
  let gone = false;
  rq.on('close', () => { gone = true; });
  for (;;) {
    if (offset !== undefined) {
      ts.storage.userMessages = ts.storage.userMessages.filter((u) => !(u.botToken === token && u.updateId < offset));
    }
    if (p.allowed_updates) {
      const allowed = parseJson(p.allowed_updates);
      if (allowed.length) {
        const kind = (u) => Object.keys(formatUpdate(token, u)).find((k) => k !== 'update_id');
        ts.storage.userMessages = ts.storage.userMessages.filter((u) => u.botToken !== token || allowed.includes(kind(u)));
      }
    }
    const list = ts.storage.userMessages.filter((u) => u.botToken === token);
    if (list.length || Date.now() >= deadline || gone) {
      return list.slice(0, limit).map((u) => formatUpdate(token, u));
    }
    await waitForUser(deadline - Date.now());
  }
}

async function botMethod(rq, res) {
  const token = rq.params.token;
  const method = String(rq.params.method).toLowerCase();
  const p = Object.assign({}, rq.query, rq.body);
  const call = { t: now(), method, chat: p.chat_id, message: p.message_id, text: p.text };
  if (p.reply_parameters) call.reply_to = parseJson(p.reply_parameters).message_id;
  if (p.reply_markup) call.reply_markup = parseJson(p.reply_markup);
  if (p.commands) call.commands = parseJson(p.commands);
  calls.push(call);
  const fail = failures.find((f) => f.method === method && f.count > 0);
  if (fail) {
    fail.count -= 1;
    call.status = 429;
    return bad(res, 429, `Too Many Requests: retry after ${fail.retry_after}`, { parameters: { retry_after: fail.retry_after } });
  }
  call.status = 200;
  switch (method) {
    case 'getme':
      return ok(res, Object.assign(botUser(token), {
        can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false,
        can_connect_to_business: false, has_main_web_app: false,
      }));
    case 'answercallbackquery': {
      call.query = p.callback_query_id;
      call.show_alert = p.show_alert === true || p.show_alert === 'true';
      if (!openQueries.delete(String(p.callback_query_id))) {
        call.status = 400;
        return bad(res, 400, 'Bad Request: query is too old and response timeout expired or query ID is invalid');
      }
      return ok(res, true);
    }
    case 'deletewebhook': case 'setwebhook': case 'sendchataction':
    case 'deletemycommands': case 'leavechat':
      return ok(res, true);
    case 'setmycommands':
      commands.set(token, parseJson(p.commands) || []);
      return ok(res, true);
    case 'getmycommands':
      return ok(res, commands.get(token) || []);
    case 'getupdates': {
      const updates = await getUpdates(token, p, rq);
      call.delivered = updates.map((u) => u.update_id);
      for (const u of updates) if (u.callback_query) openQueries.add(String(u.callback_query.id));
      call.done = now();
      return ok(res, updates);
    }
    case 'sendmessage': {
      if (unopened(p.chat_id)) return bad(res, 403, CANT_INITIATE);
      const body = Object.assign({}, p);
      if (body.reply_markup) body.reply_markup = parseJson(body.reply_markup);
      ts.addBotMessage(body, token);
      const rec = ts.storage.botMessages[ts.storage.botMessages.length - 1];
      if (body.reply_parameters) rec.message.reply_parameters = parseJson(body.reply_parameters);
      rec.original = rec.message.text;
      call.result = rec.messageId;
      return ok(res, asMessage(token, rec, false));
    }
    case 'senddocument': {
      if (unopened(p.chat_id)) return bad(res, 403, CANT_INITIATE);
      // The file itself under `document`, or `document=attach://<name>` and the file under
      // <name> (https://core.telegram.org/bots/api#inputfile; teloxide uploads so).
      const upload = rq.files || {};
      const ref = typeof p.document === 'string' ? p.document : '';
      if (ref && !ref.startsWith('attach://')) {
        return bad(res, 400, 'Bad Request: sending a document by file_id or URL is not emulated');
      }
      const file = ref ? upload[ref.slice('attach://'.length)] : upload.document;
      if (!file) return bad(res, 400, 'Bad Request: there is no document in the request');
      if (!file.bytes.length) return bad(res, 400, 'Bad Request: file must be non-empty');
      const caption = p.caption === undefined ? '' : String(p.caption);
      if ([...caption].length > CAPTION_MAX) return bad(res, 400, 'Bad Request: message caption is too long');
      ts.addBotMessage({ chat_id: p.chat_id, text: caption }, token);
      const rec = ts.storage.botMessages[ts.storage.botMessages.length - 1];
      if (p.reply_parameters) rec.message.reply_parameters = parseJson(p.reply_parameters);
      const id = `doc${rec.messageId}`;
      files.set(id, file.bytes.toString('base64'));
      rec.message.document = {
        file_id: id, file_unique_id: id, file_name: file.name || 'document',
        mime_type: file.type || 'application/octet-stream', file_size: file.bytes.length,
      };
      rec.original = caption;
      call.result = rec.messageId;
      call.document = rec.message.document;
      return ok(res, asMessage(token, rec, false));
    }
    case 'editmessagetext': case 'editmessagereplymarkup': {
      const rec = findBotMessage(token, p.chat_id, p.message_id);
      if (!rec) return bad(res, 400, 'Bad Request: message to edit not found');
      let keep = p.reply_markup ? parseJson(p.reply_markup) : undefined;
      if (keep && !(keep.inline_keyboard && keep.inline_keyboard.length)) keep = undefined;
      const text = method === 'editmessagetext' ? p.text : rec.message.text;
      if (text === rec.message.text && JSON.stringify(keep || null) === JSON.stringify(rec.message.reply_markup || null)) {
        return bad(res, 400, 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message');
      }
      rec.message = Object.assign({}, rec.message, { text });
      if (keep) rec.message.reply_markup = keep; else delete rec.message.reply_markup;
      rec.isRead = false;
      rec.edits = (rec.edits || 0) + 1;
      return ok(res, asMessage(token, rec, true));
    }
    case 'deletemessage':
      return ts.deleteMessage(Number(p.chat_id), Number(p.message_id))
        ? ok(res, true) : bad(res, 400, 'Bad Request: message to delete not found');
    default:
      call.status = 400;
      return bad(res, 400, `Bad Request: method ${rq.params.method} is not emulated`);
  }
}
app.all('/bot:token/:method', (rq, res) => {
  botMethod(rq, res).catch((e) => bad(res, 400, `Bad Request: ${e.message || e}`));
});

// Everything else (the user side's other routes) is the emulator's.
app.use(ts.webServer);

const server = app.listen(Number(process.env.TG_PORT || 0), host, () => {
  process.stdout.write(`listening on http://${host}:${server.address().port}\n`);
});
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => { server.close(); process.exit(0); });

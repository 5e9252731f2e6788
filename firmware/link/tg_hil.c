/* tinygen HIL harness: protocol command handlers (docs/protocol.md). */
#include "tg_hil.h"

#include <string.h>

#include "tg_board.h"
#include "tg_link.h"
#include "tg_runtime.h"

static int init_status;
static const char *app;
static uint32_t invoke_count;

/* Retransmissions: a request whose seq and type equal the last one's is a repeat. INVOKE and
 * RESET must not run twice, so their (small) reply is kept and sent again. */
#define CACHE_MAX 32u
static uint16_t last_seq = TG_LINK_SEQ_NONE;
static uint8_t last_type;
static uint8_t cache_status;
static uint16_t cache_len;
static uint8_t cache[CACHE_MAX];

static size_t put_str(uint8_t *p, size_t at, const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n > 255) n = 255;
  if (at + 1 + n > TG_LINK_MAX_PAYLOAD) return at;
  p[at] = (uint8_t)n;
  if (n) memcpy(p + at + 1, s, n);
  return at + 1 + n;
}

static uint16_t do_hello(uint8_t *out) {
  memset(out, 0, 32);
  out[0] = (uint8_t)TG_LINK_VERSION;
  out[1] = (uint8_t)(init_status == 0 ? 1 : 0);
  tg_put_u16(out + 2, (uint16_t)TG_LINK_MAX_PAYLOAD);
  int ok = init_status == 0;
  out[4] = (uint8_t)(ok ? tg_runtime_input_count() : 0);
  out[5] = (uint8_t)(ok ? tg_runtime_output_count() : 0);
  tg_put_u32(out + 8, tg_runtime_arena_size());
  tg_put_u32(out + 12, ok ? tg_runtime_arena_used() : 0);
  tg_put_u32(out + 16, tg_stack_size());
  tg_put_u32(out + 20, tg_stack_used());
  tg_put_u32(out + 24, invoke_count);
  tg_put_u32(out + 28, (uint32_t)init_status);
  size_t at = 32;
  at = put_str(out, at, tg_board_name());
  at = put_str(out, at, tg_runtime_name());
  at = put_str(out, at, tg_runtime_model_sha256());
  at = put_str(out, at, tg_cost_unit());
  at = put_str(out, at, app);
  return (uint16_t)at;
}

static uint16_t do_stats(uint8_t *out) {
  tg_put_u32(out + 0, tg_runtime_arena_size());
  tg_put_u32(out + 4, init_status == 0 ? tg_runtime_arena_used() : 0);
  tg_put_u32(out + 8, tg_stack_size());
  tg_put_u32(out + 12, tg_stack_used());
  tg_put_u32(out + 16, invoke_count);
  return 20;
}

static const tg_tensor_info *tensor(uint8_t kind, uint32_t index) {
  if (init_status != 0) return NULL;
  if (kind == 0) return index < tg_runtime_input_count() ? tg_runtime_input_info(index) : NULL;
  if (kind == 1) return index < tg_runtime_output_count() ? tg_runtime_output_info(index) : NULL;
  return NULL;
}

static int do_tensor_info(const tg_link_frame *f, uint8_t *out, uint16_t *len) {
  if (f->header.length < 2) return TG_LINK_BAD_ARGUMENT;
  const tg_tensor_info *t = tensor(f->payload[0], f->payload[1]);
  if (!t || t->dims_count > TG_MAX_DIMS) return TG_LINK_BAD_ARGUMENT;
  out[0] = t->dtype;
  out[1] = t->dims_count;
  out[2] = out[3] = 0;
  tg_put_u32(out + 4, t->bytes);
  uint32_t scale_bits;
  memcpy(&scale_bits, &t->scale, 4);
  tg_put_u32(out + 8, scale_bits);
  tg_put_u32(out + 12, (uint32_t)t->zero_point);
  size_t at = 16;
  for (uint32_t i = 0; i < t->dims_count; i++, at += 4) tg_put_u32(out + at, (uint32_t)t->dims[i]);
  *len = (uint16_t)put_str(out, at, t->name);
  return TG_LINK_OK;
}

/* WRITE_INPUT / READ_OUTPUT: bounds-checked window into a tensor buffer. */
static uint8_t *window(uint8_t kind, uint8_t index, uint32_t offset, uint32_t n) {
  const tg_tensor_info *t = tensor(kind, index);
  if (!t || offset > t->bytes || n > t->bytes - offset) return NULL;
  return (uint8_t *)(kind == 0 ? tg_runtime_input(index) : tg_runtime_output(index)) + offset;
}

static int do_write_input(const tg_link_frame *f) {
  if (f->header.length < 8) return TG_LINK_BAD_ARGUMENT;
  uint32_t n = (uint32_t)f->header.length - 8u;
  uint8_t *dst = window(0, f->payload[0], tg_get_u32(f->payload + 4), n);
  if (!dst) return TG_LINK_BAD_ARGUMENT;
  memcpy(dst, f->payload + 8, n);
  return TG_LINK_OK;
}

static int do_read_output(const tg_link_frame *f, uint8_t *out, uint16_t *len) {
  if (f->header.length < 8) return TG_LINK_BAD_ARGUMENT;
  uint16_t n = tg_get_u16(f->payload + 2);
  if (n > TG_LINK_MAX_PAYLOAD) return TG_LINK_TOO_LARGE;
  const uint8_t *src = window(1, f->payload[0], tg_get_u32(f->payload + 4), n);
  if (!src) return TG_LINK_BAD_ARGUMENT;
  memcpy(out, src, n);
  *len = n;
  return TG_LINK_OK;
}

/* INVOKE request flag: append every output to the reply when they fit (saves READ_OUTPUT round trips). */
#define INVOKE_WITH_OUTPUTS 0x01u
#define INVOKE_RESULT_SIZE 20u

static int do_invoke(uint8_t *out, uint16_t *len) {
  if (init_status != 0) {
    tg_put_u32(out, (uint32_t)init_status);
    *len = 4;
    return TG_LINK_RUNTIME_ERROR;
  }
  uint32_t t0 = tg_micros();
  tg_cost_start();
  tg_status s = tg_runtime_invoke();
  uint64_t cost = tg_cost_read();
  uint32_t us = tg_micros() - t0;
  if (s == TG_OK) invoke_count++;
  tg_put_u32(out + 0, (uint32_t)s);
  tg_put_u32(out + 4, invoke_count);
  tg_put_u32(out + 8, (uint32_t)cost);
  tg_put_u32(out + 12, (uint32_t)(cost >> 32));
  tg_put_u32(out + 16, us);
  *len = INVOKE_RESULT_SIZE;
  return s == TG_OK ? TG_LINK_OK : TG_LINK_RUNTIME_ERROR;
}

/* Appends all outputs after the INVOKE result if asked and they fit; returns the reply flags. */
static uint8_t append_outputs(const tg_link_frame *f, uint8_t *out, uint16_t *len) {
  if (f->header.length < 1 || !(f->payload[0] & INVOKE_WITH_OUTPUTS)) return 0;
  uint32_t total = *len;
  uint32_t n = tg_runtime_output_count();
  for (uint32_t i = 0; i < n; i++) total += tg_runtime_output_info(i)->bytes;
  if (total > TG_LINK_MAX_PAYLOAD) return 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t b = tg_runtime_output_info(i)->bytes;
    memcpy(out + *len, tg_runtime_output(i), b);
    *len = (uint16_t)(*len + b);
  }
  return INVOKE_WITH_OUTPUTS;
}

static int do_reset(const tg_link_frame *f, uint8_t *out, uint16_t *len) {
  uint8_t mode = f->header.length >= 1 ? f->payload[0] : 0;
  if (mode > 1) return TG_LINK_BAD_ARGUMENT;
  if (mode == 1) return TG_LINK_OK; /* reboot happens after the reply is sent */
  tg_status s = init_status == 0 ? tg_runtime_reset() : (tg_status)init_status;
  invoke_count = 0;
  tg_put_u32(out, (uint32_t)s);
  *len = 4;
  return s == TG_OK ? TG_LINK_OK : TG_LINK_RUNTIME_ERROR;
}

static int do_link_test(const tg_link_frame *f, uint8_t *out, uint16_t *len) {
  if (f->header.length < 2) return TG_LINK_BAD_ARGUMENT;
  uint16_t n = tg_get_u16(f->payload);
  if (n > TG_LINK_MAX_PAYLOAD) return TG_LINK_TOO_LARGE;
  for (uint16_t i = 0; i < n; i++) out[i] = (uint8_t)i;
  *len = n;
  return TG_LINK_OK;
}

__attribute__((weak)) int tg_hil_app_command(const tg_link_frame *f, int repeat, uint8_t *out, uint16_t *len) {
  (void)f;
  (void)repeat;
  (void)out;
  *len = 0;
  return TG_LINK_UNKNOWN_COMMAND;
}

static void handle(const tg_link_frame *f) {
  const tg_link_header *h = &f->header;
  uint8_t *out = tg_link_tx_payload();
  uint16_t len = 0;
  int st;
  if (h->version != TG_LINK_VERSION) {
    out[0] = (uint8_t)TG_LINK_VERSION;
    tg_link_send((uint8_t)(h->type | TG_REPLY), h->seq, TG_LINK_BAD_VERSION, 1);
    return;
  }
  int repeat = h->seq == last_seq && h->type == last_type;
  if (repeat && (h->type == TG_CMD_INVOKE || h->type == TG_CMD_RESET)) {
    uint8_t flags = 0;
    memcpy(out, cache, cache_len);
    len = cache_len;
    if (h->type == TG_CMD_INVOKE && cache_status == TG_LINK_OK) flags = append_outputs(f, out, &len);
    tg_link_send_flags((uint8_t)(h->type | TG_REPLY), h->seq, cache_status, flags, len);
    return;
  }
  switch (h->type) {
    case TG_CMD_HELLO: len = do_hello(out); st = TG_LINK_OK; break;
    case TG_CMD_TENSOR_INFO: st = do_tensor_info(f, out, &len); break;
    case TG_CMD_WRITE_INPUT: st = do_write_input(f); break;
    case TG_CMD_INVOKE: st = do_invoke(out, &len); break;
    case TG_CMD_READ_OUTPUT: st = do_read_output(f, out, &len); break;
    case TG_CMD_STATS: len = do_stats(out); st = TG_LINK_OK; break;
    case TG_CMD_RESET: st = do_reset(f, out, &len); break;
    case TG_CMD_LINK_TEST: st = do_link_test(f, out, &len); break;
    default: st = tg_hil_app_command(f, repeat, out, &len); break;
  }
  if (st != TG_LINK_OK && h->type <= TG_CMD_LINK_TEST && h->type != TG_CMD_INVOKE && h->type != TG_CMD_RESET) {
    len = 0;
  }
  last_seq = h->seq;
  last_type = h->type;
  cache_status = (uint8_t)st;
  cache_len = len <= CACHE_MAX ? len : 0;
  memcpy(cache, out, cache_len);
  uint8_t flags = 0;
  if (h->type == TG_CMD_INVOKE && st == TG_LINK_OK) flags = append_outputs(f, out, &len);
  tg_link_send_flags((uint8_t)(h->type | TG_REPLY), h->seq, (uint8_t)st, flags, len);
  if (h->type == TG_CMD_RESET && st == TG_LINK_OK && h->length >= 1 && f->payload[0] == 1) tg_board_reset();
}

void tg_hil_start(int runtime_status, const char *app_name) {
  init_status = runtime_status;
  app = app_name;
  uint8_t *out = tg_link_tx_payload();
  uint16_t len = do_hello(out);
  tg_link_send(TG_EVENT_BOOT, TG_LINK_SEQ_NONE, TG_LINK_OK, len);
}

int tg_hil_poll(void) {
  int handled = 0;
  tg_link_frame f;
  int r;
  while ((r = tg_link_receive(&f)) != 0) {
    if (r > 0) {
      handle(&f);
    } else {
      tg_link_send(TG_REPLY, TG_LINK_SEQ_NONE, TG_LINK_BAD_FRAME, 0);
    }
    handled++;
  }
  return handled;
}

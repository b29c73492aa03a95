/*
 * digest.node: SHA-256 on libuv's thread pool, for mocker's downloads.
 *
 * A pull over HTTPS is bound by one thread that decrypts, parses HTTP and
 * runs the store; hashing its 49 MB there took 35 ms of that thread. Here
 * each batch of a blob's pieces is hashed on a pool thread while the main
 * thread reads the next one. The hash is Node's own OpenSSL: the EVP
 * functions the node binary exports for addons, so a digest is the one
 * node:crypto computes. An N-API addon rather than koffi, whose loading
 * alone costs 17 ms of every pull's start.
 *
 * create() -> context; update(context, buffers) -> Promise, settled once
 * every buffer is hashed (the buffers must stay unchanged until then);
 * digest(context) -> the 32 bytes. One update at a time per context, in
 * the order they are made.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <openssl/evp.h>
#include <stdlib.h>

struct hasher {
	EVP_MD_CTX *md;
	int busy;
	int spent;
};

struct piece {
	const unsigned char *data;
	size_t len;
};

struct update {
	napi_async_work work;
	napi_deferred deferred;
	/* The context and the buffers stay alive until the work is done. */
	napi_ref keep_hasher;
	napi_ref keep_buffers;
	struct hasher *h;
	struct piece *pieces;
	uint32_t n;
	int ok;
};

static napi_value fail(napi_env env, const char *code, const char *msg)
{
	napi_throw_error(env, code, msg);
	return NULL;
}

static void hasher_free(napi_env env, void *data, void *hint)
{
	struct hasher *h = data;
	(void)env;
	(void)hint;
	EVP_MD_CTX_free(h->md);
	free(h);
}

static napi_value create(napi_env env, napi_callback_info info)
{
	(void)info;
	struct hasher *h = calloc(1, sizeof *h);
	if (!h)
		return fail(env, "ENOMEM", "out of memory for a SHA-256 context");
	h->md = EVP_MD_CTX_new();
	if (!h->md || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h->md);
		free(h);
		return fail(env, "ERR_CRYPTO", "OpenSSL could not start a SHA-256 context");
	}
	napi_value ext;
	if (napi_create_external(env, h, hasher_free, NULL, &ext) != napi_ok) {
		hasher_free(env, h, NULL);
		return fail(env, "ENOMEM", "out of memory for a SHA-256 context");
	}
	return ext;
}

static struct hasher *hasher_of(napi_env env, napi_value v)
{
	void *h = NULL;
	napi_valuetype t;
	if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &h) != napi_ok)
		return NULL;
	return h;
}

static void run(napi_env env, void *data)
{
	struct update *u = data;
	(void)env;
	u->ok = 1;
	for (uint32_t i = 0; i < u->n; i++) {
		if (EVP_DigestUpdate(u->h->md, u->pieces[i].data, u->pieces[i].len) != 1) {
			u->ok = 0;
			break;
		}
	}
}

/* update_free() - release what update() took for @u, whichever parts it
 * had made.  Return: nothing.
 */
static void update_free(napi_env env, struct update *u)
{
	if (u->work)
		napi_delete_async_work(env, u->work);
	if (u->keep_hasher)
		napi_delete_reference(env, u->keep_hasher);
	if (u->keep_buffers)
		napi_delete_reference(env, u->keep_buffers);
	free(u->pieces);
	free(u);
}

static void done(napi_env env, napi_status status, void *data)
{
	struct update *u = data;
	u->h->busy = 0;
	if (status == napi_ok && u->ok) {
		napi_value undef;
		napi_get_undefined(env, &undef);
		napi_resolve_deferred(env, u->deferred, undef);
	} else {
		napi_value code, msg, err;
		napi_create_string_utf8(env, "ERR_CRYPTO", NAPI_AUTO_LENGTH, &code);
		napi_create_string_utf8(env, "SHA-256 update failed", NAPI_AUTO_LENGTH, &msg);
		napi_create_error(env, code, msg, &err);
		napi_reject_deferred(env, u->deferred, err);
	}
	update_free(env, u);
}

static napi_value update(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2)
		return fail(env, "ERR_INVALID_ARG_TYPE", "update(context, buffers)");
	struct hasher *h = hasher_of(env, argv[0]);
	bool is_array = false;
	uint32_t n = 0;
	if (!h || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &n) != napi_ok)
		return fail(env, "ERR_INVALID_ARG_TYPE", "update(context, buffers): a context from create() and an array of Buffers");
	if (h->busy || h->spent)
		return fail(env, "ERR_INVALID_STATE", h->spent ? "SHA-256 context already digested" : "SHA-256 update while another runs");
	struct update *u = calloc(1, sizeof *u);
	if (!u)
		return fail(env, "ENOMEM", "out of memory for a SHA-256 update");
	struct piece *pieces = u->pieces = calloc(n ? n : 1, sizeof *pieces);
	if (!pieces) {
		update_free(env, u);
		return fail(env, "ENOMEM", "out of memory for a SHA-256 update");
	}
	u->h = h;
	u->n = n;
	for (uint32_t i = 0; i < n; i++) {
		napi_value el;
		bool is_buffer = false;
		void *data;
		size_t len;
		if (napi_get_element(env, argv[1], i, &el) != napi_ok || napi_is_buffer(env, el, &is_buffer) != napi_ok || !is_buffer ||
		    napi_get_buffer_info(env, el, &data, &len) != napi_ok) {
			update_free(env, u);
			return fail(env, "ERR_INVALID_ARG_TYPE", "update(context, buffers): every element must be a Buffer");
		}
		pieces[i].data = data;
		pieces[i].len = len;
	}
	napi_value promise, name;
	if (napi_create_reference(env, argv[0], 1, &u->keep_hasher) != napi_ok ||
	    napi_create_reference(env, argv[1], 1, &u->keep_buffers) != napi_ok || napi_create_promise(env, &u->deferred, &promise) != napi_ok ||
	    napi_create_string_utf8(env, "mocker:sha256", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_create_async_work(env, NULL, name, run, done, u, &u->work) != napi_ok ||
	    napi_queue_async_work(env, u->work) != napi_ok) {
		/* A promise made is left pending: nothing awaits it, the throw ends the call. */
		update_free(env, u);
		return fail(env, "ERR_INTERNAL", "could not queue a SHA-256 update");
	}
	h->busy = 1;
	return promise;
}

static napi_value digest(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1)
		return fail(env, "ERR_INVALID_ARG_TYPE", "digest(context)");
	struct hasher *h = hasher_of(env, argv[0]);
	if (!h)
		return fail(env, "ERR_INVALID_ARG_TYPE", "digest(context): a context from create()");
	if (h->busy || h->spent)
		return fail(env, "ERR_INVALID_STATE", h->spent ? "SHA-256 context already digested" : "SHA-256 digest while an update runs");
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (EVP_DigestFinal_ex(h->md, out, &len) != 1)
		return fail(env, "ERR_CRYPTO", "SHA-256 final failed");
	h->spent = 1;
	napi_value buf;
	if (napi_create_buffer_copy(env, len, out, NULL, &buf) != napi_ok)
		return fail(env, "ENOMEM", "out of memory for a digest");
	return buf;
}

NAPI_MODULE_INIT()
{
	napi_property_descriptor props[] = {
		{ "create", NULL, create, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "update", NULL, update, NULL, NULL, NULL, napi_enumerable, NULL },
		{ "digest", NULL, digest, NULL, NULL, NULL, napi_enumerable, NULL },
	};
	if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok)
		return NULL;
	return exports;
}

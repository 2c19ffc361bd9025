// Drives a teraslice-rs master the way Teraslice's JavaScript client does: relative paths
// joined onto `v1/` (so `v1/`, `v1/jobs/`...), JSON bodies, streamed asset uploads, and the
// messages Teraslice's tests assert. Node built-ins only (fetch, http, assert).
// Usage: node client_compat.mjs http://127.0.0.1:<port>
import assert from 'node:assert/strict';
import http from 'node:http';

const base = new URL(process.argv[2] ?? '');
const url = (path) => new URL(path, base).toString();

async function call(method, path, body) {
    const res = await fetch(url(path), {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try {
        json = JSON.parse(text);
    } catch {
        json = text;
    }
    return { status: res.status, body: json };
}

// POST `path` with `size` bytes written in 8 KB pieces, as a zip upload streams; resolves with
// the status and body, rejects if the server cut the upload off (write EPIPE / ECONNRESET).
function streamedUpload(path, size) {
    return new Promise((resolve, reject) => {
        const req = http.request(url(path), {
            method: 'POST',
            headers: { 'content-type': 'application/octet-stream', 'content-length': size },
        }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => { text += d; });
            res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
        });
        req.on('error', reject);
        const piece = Buffer.alloc(8 * 1024, 'z');
        let sent = 0;
        const writeMore = () => {
            while (sent < size) {
                const n = Math.min(piece.length, size - sent);
                sent += n;
                if (!req.write(piece.subarray(0, n))) {
                    req.once('drain', writeMore);
                    return;
                }
            }
            req.end();
        };
        writeMore();
    });
}

const isoMillis = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const checks = [];
const check = (name, fn) => checks.push([name, fn]);

check('cluster.info() asks for v1/', async () => {
    const { status, body } = await call('GET', 'v1/');
    assert.equal(status, 200);
    assert.equal(body.teraslice_version, 'v3.18.0');
    assert.ok(body.clustering_type);
    assert.ok(!['x86_64', 'aarch64'].includes(body.arch), `Node's arch word, got ${body.arch}`);
});

check('lists answer with a trailing slash', async () => {
    for (const path of ['v1/jobs/', 'v1/ex/', 'v1/cluster/state/', 'v1/assets/', 'jobs/', 'txt/ex/']) {
        const { status } = await call('GET', path);
        assert.equal(status, 200, path);
    }
});

check('a streamed 200 KB upload to POST /assets gets a readable refusal', async () => {
    const { status, body } = await streamedUpload('v1/assets', 200 * 1024);
    assert.equal(status, 400);
    assert.match(body.message, /uploaded assets are not supported/);
});

check('jobs keep their keys in order and dates have milliseconds', async () => {
    const spec = {
        workers: 1,
        name: 'js-client',
        operations: [{ _op: 'test-reader' }, { _op: 'noop' }],
        zeta: { second: 2, first: 1 },
    };
    const { status, body } = await call('POST', 'v1/jobs?start=false', spec);
    assert.equal(status, 200, JSON.stringify(body));
    const job = (await call('GET', `v1/jobs/${body.job_id}`)).body;
    assert.deepEqual(Object.keys(job).slice(0, 4), ['workers', 'name', 'operations', 'zeta']);
    assert.deepEqual(Object.keys(job.zeta), ['second', 'first']);
    assert.equal(job._deleted, undefined);
    assert.match(job._created, isoMillis);
});

check('a deleted job answers with Teraslice\'s messages', async () => {
    const spec = { name: 'js-deleted', operations: [{ _op: 'test-reader' }, { _op: 'noop' }] };
    const { body: { job_id: id } } = await call('POST', 'v1/jobs?start=false', spec);
    const deleted = await call('DELETE', `v1/jobs/${id}`);
    assert.equal(deleted.status, 200);
    assert.match(deleted.body._deleted_on, isoMillis);
    const said = (what) => `Job ${id} has been deleted and cannot be ${what}.`;
    const start = await call('POST', `v1/jobs/${id}/_start`);
    assert.equal(start.status, 410);
    assert.equal(start.body.message, said('started'));
    const update = await call('PUT', `v1/jobs/${id}`, spec);
    assert.equal(update.body.message, said('updated'));
    const recover = await call('POST', `v1/jobs/${id}/_recover`);
    assert.equal(recover.body.message, said('recovered'));
    const again = await call('DELETE', `v1/jobs/${id}`);
    assert.equal(again.body.message, `Job ${id} has already been deleted.`);
});

let failed = 0;
for (const [name, fn] of checks) {
    try {
        await fn();
        console.log(`ok - ${name}`);
    } catch (err) {
        failed += 1;
        console.log(`not ok - ${name}\n  ${String(err?.stack ?? err).split('\n').join('\n  ')}`);
    }
}
process.exit(failed === 0 ? 0 : 1);

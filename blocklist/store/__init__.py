"""The only package that talks to Redis and knows key names.

The call path (lean, no redis-py):

- `layout`: the key layout (`KeySpace`), value packing and the screening script (pure)
- `wire`: the per-call script's client; `multiplexer`: the FastAGI server's
- `activity_counter`: the FastAGI server's in-memory activity counts and their flush

The admin side (redis-py), behind `admin.Store`:

- `redis_boundary`: redis-py's errors become ours; token locks; chunked reads (a leaf)
- `state`: a source's entries in memory, diffs, merged listings (pure)
- `bulk`: RESP commands streamed on one connection
- `sources`: each source's stored entries; `listing`: the call path's merged listing
- `apply_lock`: one apply at a time, renewed while it runs
- `snapshot`: a whole source replaced; `changes`: deltas and single changes, atomically
- `explanations`, `subscribers`, `catalog`: reading entries, allowlists and subscribers
- `apikeys`, `audit`, `reports`, `feeds`, `locks`: the admin API's and the feed sync's data
- `activity`, `disputes`: the fraud desk's (activity read back; disputes and their outcome)
"""

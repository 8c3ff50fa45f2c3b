"""The only package that talks to Redis and knows key names.

- `layout`: the key layout and value packing (pure)
- `wire`: the call path's lean client; `multiplexer`: its asyncio form
- `admin`: the admin side's store on redis-py
"""

"""Zero-cost proxies, one module per family, registered by name.

    >>> from libranas.proxies import list_proxies
    >>> "lswag" in list_proxies()
    True
"""

from libranas.proxies._registry import ProxyInfo, get_proxy, list_proxies, register_proxy

__all__ = ["ProxyInfo", "get_proxy", "list_proxies", "register_proxy"]

# Runs Eclipse Paho's MQTT 3.1.1 interoperability client tests (interoperability/client_test.py,
# vendored unchanged from github.com/eclipse/paho.mqtt.testing, see README.md) against a Poste
# agent's LAN endpoint. Written for Poste; not part of the Paho distribution.
#
#   python3 run_device_endpoint.py HOST PORT TEST_NAME...
#
# What this runner does instead of client_test.py's own __main__ block:
# - sets the module globals that block would set (host, port, topics, wildtopics, nosubscribe_topics);
# - loads only the V311 client and the MQTTV311 format: mqtt/__init__.py and friends import the whole
#   Paho tree (brokers, MQTT 5), so namespace packages stand in for them and those are not vendored;
# - replaces cleanup(), which resets a long-lived server's sessions and retained messages (the endpoint
#   under test is a fresh agent, nothing to reset) and connects as "clean retained", a client id with
#   a space that the endpoint refuses by design (CONNACK 2; see the adapter README);
# - runs the named tests only (those that apply to a device endpoint, chosen by the caller).
import os
import sys
import types
import unittest

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "interoperability")
sys.path.insert(0, here)
for name, path in (("mqtt", "mqtt"), ("mqtt.clients", "mqtt/clients"), ("mqtt.formats", "mqtt/formats")):
    package = types.ModuleType(name)
    package.__path__ = [os.path.join(here, path)]
    sys.modules[name] = package

import client_test  # noqa: E402

client_test.host = sys.argv[1]
client_test.port = int(sys.argv[2])
client_test.topics = ("TopicA", "TopicA/B", "Topic/C", "TopicA/C", "/TopicA")
client_test.wildtopics = ("TopicA/+", "+/C", "#", "/#", "/+", "+/+", "TopicA/#")
client_test.nosubscribe_topics = ("test/nosubscribe",)
client_test.cleanup = lambda: None

suite = unittest.TestSuite(client_test.Test(name) for name in sys.argv[3:])
result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
sys.exit(0 if result.wasSuccessful() else 1)

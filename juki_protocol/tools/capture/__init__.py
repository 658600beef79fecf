"""Frame captures (pcap) of a simulated flow, and the scapy dissector."""

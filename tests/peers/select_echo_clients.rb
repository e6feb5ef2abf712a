# Three clients of the select-based echo server ("Socket Multiplexing with IO.select" in
# "Socket Programming Concepts"), connected at once and interleaved: each round every client
# sends a line (in a different order each round, one of them split in two writes) before
# any reply is read. A server that served one client at a time would never answer.
#   ruby select_echo_clients.rb PORT
require 'socket'

port = Integer(ARGV.fetch(0))
TIMEOUT = 20

clients = 3.times.map { TCPSocket.new('127.0.0.1', port) }

def read_reply(socket)
  abort "no reply within #{TIMEOUT} seconds" unless IO.select([socket], nil, nil, TIMEOUT)
  line = socket.gets
  abort 'server closed the connection' if line.nil?
  line
end

3.times do |round|
  order = round.even? ? clients.each_index.to_a : clients.each_index.to_a.reverse
  order.each do |i|
    line = "client #{i} round #{round}\n"
    if i == 1
      # A line that arrives in two pieces is still one line.
      clients[i].write(line[0, 5])
      sleep 0.05
      clients[i].write(line[5..])
    else
      clients[i].write(line)
    end
  end
  clients.each { |c| puts read_reply(c) }
end

clients.each(&:close)

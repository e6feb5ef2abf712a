# client.rb from "The Interweb Isn't Magic", unchanged but for the target, which the seed
# leaves as "SET THIS TO THE OUTPUT FROM server.rb!": here it comes from the command line.
#   ruby hello_client.rb IP [PORT]
require 'socket'

target_ip = ARGV.fetch(0, '127.0.0.1')
port = Integer(ARGV.fetch(1, '7777'))

recv = Socket.new(Socket::AF_INET, Socket::SOCK_STREAM)
recv.connect(Addrinfo.tcp(target_ip, port))

puts recv.gets
recv.close
